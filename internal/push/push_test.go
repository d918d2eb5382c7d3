package push

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// archiveOf writes a random image as an OCI layout and tars it as scripts/images do.
func archiveOf(t *testing.T) (archive string, manifest []byte, digest string) {
	t.Helper()
	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "layout")
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	if manifest, err = img.RawManifest(); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	archive = filepath.Join(t.TempDir(), "image.tar")
	writeTar(t, archive, func(tw *tar.Writer) {
		err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
			if err != nil || p == dir {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			h, err := tar.FileInfoHeader(fi, "")
			if err != nil {
				return err
			}
			h.Name = filepath.ToSlash(rel)
			if err := tw.WriteHeader(h); err != nil || fi.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			_, err = tw.Write(b)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	return archive, manifest, d.String()
}

func writeTar(t *testing.T, path string, fill func(*tar.Writer)) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	fill(tw)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPushKeepsTheDigest(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://") // 127.0.0.1:PORT: plain HTTP
	archive, manifest, want := archiveOf(t)

	got, err := Push(context.Background(), archive, host+"/test/image")
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("Push returned %s, the archive's manifest is %s", got, want)
	}
	r, err := ParseRef(host + "/test/image@" + want)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(desc.Manifest, manifest) {
		t.Errorf("the registry serves other manifest bytes:\n%s\nwant\n%s", desc.Manifest, manifest)
	}

	// By digest: the same digest is accepted, another one refused before any upload.
	if got, err := Push(context.Background(), archive, host+"/test/bydigest@"+want); err != nil || got != want {
		t.Errorf("push by its own digest: %s, %v", got, err)
	}
	other := "sha256:" + strings.Repeat("0", 64)
	if _, err := Push(context.Background(), archive, host+"/test/other@"+other); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("push by another digest: err = %v", err)
	}
}

func TestPushRejectsBadArchives(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name, want string
		hdr        tar.Header
	}{
		{"escape", "leaves the archive", tar.Header{Name: "../evil", Mode: 0o644, Typeflag: tar.TypeReg}},
		{"symlink", "neither a file nor a directory", tar.Header{Name: "index.json", Linkname: "/etc/passwd", Typeflag: tar.TypeSymlink}},
		{"no layout", "index.json", tar.Header{Name: "README", Mode: 0o644, Typeflag: tar.TypeReg}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, tt.name+".tar")
			writeTar(t, p, func(tw *tar.Writer) {
				if err := tw.WriteHeader(&tt.hdr); err != nil {
					t.Fatal(err)
				}
			})
			// Nothing listens on port 1: an archive that got as far as the push would
			// fail there instead, with another message.
			_, err := Push(context.Background(), p, "127.0.0.1:1/test/image")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to say %q", err, tt.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "evil")); !os.IsNotExist(err) {
				t.Error("an entry escaped the extraction directory")
			}
		})
	}
}

func TestParseRefPlainHTTPOnlyForThisMachine(t *testing.T) {
	for ref, scheme := range map[string]string{
		"127.0.0.1:5005/a/b":       "http",
		"localhost:5000/a/b:1":     "http",
		"[::1]:5000/a/b":           "http",
		"registry.example/a/b":     "https",
		"registry.example:443/a/b": "https",
		"10.0.0.1:5000/a/b":        "http", // go-containerregistry's own rule for RFC 1918 addresses
	} {
		r, err := ParseRef(ref)
		if err != nil {
			t.Errorf("%s: %v", ref, err)
			continue
		}
		if got := r.Context().Scheme(); got != scheme {
			t.Errorf("%s: scheme %s, want %s", ref, got, scheme)
		}
	}
}
