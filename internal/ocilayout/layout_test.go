package ocilayout

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/slsabox/slsabox/internal/ociarchive"
)

// goodLayout writes a small valid image layout and returns its directory and manifest digest.
func goodLayout(t testing.TB) (string, string) {
	t.Helper()
	src := filepath.Join(t.TempDir(), "hello")
	if err := os.WriteFile(src, []byte("hello\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	res, err := ociarchive.WriteLayout(context.Background(), dir, []ociarchive.File{{Path: "/hello", Source: src, Mode: 0o755}},
		ociarchive.Options{Epoch: 1, Entrypoint: []string{"/hello"}, Platform: ociarchive.Platform{OS: "linux", Architecture: "amd64"}})
	if err != nil {
		t.Fatal(err)
	}
	return dir, res.Manifest.Digest
}

func blobFile(dir, digest string) string {
	return filepath.Join(dir, "blobs", "sha256", strings.TrimPrefix(digest, "sha256:"))
}

// addBlob writes data as a blob and returns its digest.
func addBlob(t *testing.T, dir string, data []byte) string {
	t.Helper()
	d := fmt.Sprintf("sha256:%x", sha256.Sum256(data))
	if err := os.WriteFile(blobFile(dir, d), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return d
}

func setIndex(t *testing.T, dir string, descs ...Descriptor) {
	t.Helper()
	data, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": MediaTypeOCIIndex, "manifests": descs})
	if err := os.WriteFile(filepath.Join(dir, "index.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readManifest(t *testing.T, dir, digest string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(blobFile(dir, digest))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func layerDigest(t *testing.T, dir, man string) string {
	return readManifest(t, dir, man)["layers"].([]any)[0].(map[string]any)["digest"].(string)
}

func TestOpenAcceptsAndCopies(t *testing.T) {
	dir, man := goodLayout(t)
	l, err := Open(dir, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.Image.Digest != man || l.Image.MediaType != MediaTypeOCIManifest || len(l.Blobs) != 3 {
		t.Fatalf("image %+v, %d blobs", l.Image, len(l.Blobs))
	}
	// An extra, unreferenced file is not copied.
	addBlob(t, dir, []byte("junk"))
	dst := filepath.Join(t.TempDir(), "copy")
	if err := l.WriteTo(dst, "registry.example.com/acme/hello"); err != nil {
		t.Fatal(err)
	}
	c, err := Open(dst, Limits{})
	if err != nil {
		t.Fatalf("the copy does not check: %v", err)
	}
	defer c.Close()
	if c.Image.Digest != man || len(c.Blobs) != 3 {
		t.Fatalf("copy: image %+v, %d blobs", c.Image, len(c.Blobs))
	}
	if idx, _ := os.ReadFile(filepath.Join(dst, "index.json")); !strings.Contains(string(idx), `"org.opencontainers.image.ref.name":"registry.example.com/acme/hello"`) {
		t.Errorf("index.json: %s", idx)
	}
}

// TestOpenAcceptsIndex: an index of one manifest, as multi-platform tools write.
func TestOpenAcceptsIndex(t *testing.T) {
	dir, man := goodLayout(t)
	size := int64(len(must(os.ReadFile(blobFile(dir, man)))))
	idx, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": MediaTypeOCIIndex,
		"manifests": []Descriptor{{MediaType: MediaTypeOCIManifest, Digest: man, Size: size, Platform: &Platform{OS: "linux", Architecture: "amd64"}}}})
	d := addBlob(t, dir, idx)
	setIndex(t, dir, Descriptor{MediaType: MediaTypeOCIIndex, Digest: d, Size: int64(len(idx))})
	l, err := Open(dir, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.Image.Digest != d || len(l.Blobs) != 4 {
		t.Fatalf("image %+v, %d blobs", l.Image, len(l.Blobs))
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestOpenRefuses(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(outside, []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, dir, man string)
		want   string
	}{
		{"missing blob", func(t *testing.T, dir, man string) {
			os.Remove(blobFile(dir, layerDigest(t, dir, man)))
		}, "is missing"},
		{"digest mismatch", func(t *testing.T, dir, man string) {
			p := blobFile(dir, layerDigest(t, dir, man))
			b := must(os.ReadFile(p))
			b[len(b)-1] ^= 1
			os.WriteFile(p, b, 0o644)
		}, "does not match its digest"},
		{"wrong size", func(t *testing.T, dir, man string) {
			f := must(os.OpenFile(blobFile(dir, layerDigest(t, dir, man)), os.O_APPEND|os.O_WRONLY, 0))
			f.Write([]byte("x"))
			f.Close()
		}, "its descriptor says"},
		{"bad manifest", func(t *testing.T, dir, man string) {
			d := addBlob(t, dir, []byte("not json"))
			setIndex(t, dir, Descriptor{MediaType: MediaTypeOCIManifest, Digest: d, Size: 8})
		}, "does not parse"},
		{"manifest of another media type", func(t *testing.T, dir, man string) {
			data := must(os.ReadFile(blobFile(dir, man)))
			setIndex(t, dir, Descriptor{MediaType: MediaTypeDockerManifest, Digest: man, Size: int64(len(data))})
		}, "is not the"},
		{"a referrer, not an image", func(t *testing.T, dir, man string) {
			var m map[string]any
			if err := json.Unmarshal(must(os.ReadFile(blobFile(dir, man))), &m); err != nil {
				t.Fatal(err)
			}
			m["subject"] = map[string]any{"mediaType": MediaTypeOCIManifest, "digest": "sha256:" + strings.Repeat("a", 64), "size": 100}
			data := must(json.Marshal(m))
			setIndex(t, dir, Descriptor{MediaType: MediaTypeOCIManifest, Digest: addBlob(t, dir, data), Size: int64(len(data))})
		}, "has a subject"},
		{"unknown media type", func(t *testing.T, dir, man string) {
			setIndex(t, dir, Descriptor{MediaType: "application/x-evil", Digest: man, Size: 10})
		}, "not an OCI or Docker v2"},
		{"two images", func(t *testing.T, dir, man string) {
			data := must(os.ReadFile(blobFile(dir, man)))
			d := Descriptor{MediaType: MediaTypeOCIManifest, Digest: man, Size: int64(len(data))}
			setIndex(t, dir, d, d)
		}, "names 2 images"},
		{"absurd size", func(t *testing.T, dir, man string) {
			setIndex(t, dir, Descriptor{MediaType: MediaTypeOCIManifest, Digest: man, Size: 1 << 62})
		}, "beyond the limit"},
		{"bad digest", func(t *testing.T, dir, man string) {
			setIndex(t, dir, Descriptor{MediaType: MediaTypeOCIManifest, Digest: "sha256:../../etc/passwd", Size: 1})
		}, "is not sha256"},
		{"symlink blob escaping", func(t *testing.T, dir, man string) {
			p := blobFile(dir, layerDigest(t, dir, man))
			os.Remove(p)
			os.Symlink(outside, p)
		}, "not a regular file"},
		{"symlinked blobs directory", func(t *testing.T, dir, man string) {
			os.Rename(filepath.Join(dir, "blobs"), filepath.Join(filepath.Dir(outside), "blobs"))
			os.Symlink(filepath.Join(filepath.Dir(outside), "blobs"), filepath.Join(dir, "blobs"))
		}, "blobs is not a directory"},
		{"symlinked index.json", func(t *testing.T, dir, man string) {
			os.Remove(filepath.Join(dir, "index.json"))
			os.Symlink(outside, filepath.Join(dir, "index.json"))
		}, "index.json is not a regular file"},
		{"fifo blob", func(t *testing.T, dir, man string) {
			p := blobFile(dir, layerDigest(t, dir, man))
			os.Remove(p)
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Skip(err)
			}
		}, "not a regular file"},
		{"no oci-layout", func(t *testing.T, dir, man string) {
			os.Remove(filepath.Join(dir, "oci-layout"))
		}, "oci-layout is missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, man := goodLayout(t)
			tc.tamper(t, dir, man)
			l, err := Open(dir, Limits{})
			if err == nil {
				l.Close()
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrInvalidLayout) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrInvalidLayout with %q", err, tc.want)
			}
		})
	}
}

// TestWriteToRechecks: a blob changed between Open and WriteTo is caught.
func TestWriteToRechecks(t *testing.T) {
	dir, man := goodLayout(t)
	l, err := Open(dir, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	p := blobFile(dir, layerDigest(t, dir, man))
	b := must(os.ReadFile(p))
	b[0] ^= 1
	os.WriteFile(p, b, 0o644)
	if err := l.WriteTo(filepath.Join(t.TempDir(), "c"), ""); !errors.Is(err, ErrInvalidLayout) {
		t.Fatalf("err = %v", err)
	}
}

// OpenBlob yields the blob, and fails at its end if the file no longer matches.
func TestOpenBlobChecksAtEOF(t *testing.T) {
	dir, _ := goodLayout(t)
	l, err := Open(dir, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var layer Descriptor
	for _, b := range l.Blobs {
		if strings.Contains(b.MediaType, "layer") {
			layer = b
		}
	}
	read := func() error {
		r, err := l.OpenBlob(layer)
		if err != nil {
			return err
		}
		defer r.Close()
		_, err = io.Copy(io.Discard, r)
		return err
	}
	if err := read(); err != nil {
		t.Fatalf("a good blob: %v", err)
	}
	data, err := os.ReadFile(blobFile(dir, layer.Digest))
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-1] ^= 1
	if err := os.WriteFile(blobFile(dir, layer.Digest), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := read(); !errors.Is(err, ErrInvalidLayout) || !strings.Contains(err.Error(), "does not match its digest") {
		t.Fatalf("a changed blob: %v", err)
	}
	if err := os.WriteFile(blobFile(dir, layer.Digest), data[:10], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := read(); !errors.Is(err, ErrInvalidLayout) {
		t.Fatalf("a short blob: %v", err)
	}
}
