package builder

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slsabox/slsabox/internal/ocilayout"
)

// A layout whose indexes list the same child n times at every level passes
// ocilayout.Open (blobs are checked once each); layoutBinaries must read each
// manifest once, not walk every path (n^levels manifests, each layer re-scanned).
func TestLayoutBinariesRepeatedManifests(t *testing.T) {
	dir := t.TempDir()
	blobs := filepath.Join(dir, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		t.Fatal(err)
	}
	put := func(mt string, data []byte) ocilayout.Descriptor {
		sum := sha256.Sum256(data)
		h := hex.EncodeToString(sum[:])
		if err := os.WriteFile(filepath.Join(blobs, h), data, 0o644); err != nil {
			t.Fatal(err)
		}
		return ocilayout.Descriptor{MediaType: mt, Digest: "sha256:" + h, Size: int64(len(data))}
	}
	layer := put("application/vnd.oci.image.layer.v1.tar", make([]byte, 1024)) // an empty tar
	config := put("application/vnd.oci.image.config.v1+json", []byte(`{}`))
	m, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": ocilayout.MediaTypeOCIManifest, "config": config, "layers": []any{layer}})
	d := put(ocilayout.MediaTypeOCIManifest, m)
	const n, levels = 20, 3
	for range levels {
		list := make([]ocilayout.Descriptor, n)
		for i := range list {
			list[i] = d
		}
		idx, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": ocilayout.MediaTypeOCIIndex, "manifests": list})
		d = put(ocilayout.MediaTypeOCIIndex, idx)
	}
	top, _ := json.Marshal(map[string]any{"schemaVersion": 2, "manifests": []any{d}})
	os.WriteFile(filepath.Join(dir, "index.json"), top, 0o644)
	os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
	l, err := ocilayout.Open(dir, ocilayout.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	t.Logf("Open: %d blobs", len(l.Blobs))
	ms, err := imageManifests(l, l.Image, 0, map[string]bool{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = layoutBinaries(l, t.TempDir(), 8*(4<<30))
	t.Logf("layoutBinaries: %v, err %v", time.Since(start), err)
	if len(ms) > 1 {
		t.Errorf("%d distinct blobs, but %d manifests walked (n^levels = %d): a %d KiB index at each of 3 levels lists ~24000, so 24000^3", len(l.Blobs), len(ms), n*n*n, 4096)
	}

}

// A layer's whiteouts hide the layers below it, not its own entries (an opaque marker
// listed after a binary of the same layer leaves it), and a hard link to a binary is
// one too, at its own path.
func TestLayoutBinariesWhiteoutsAndLinks(t *testing.T) {
	exe, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	add := func(h *tar.Header, data []byte) {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(data)
	}
	add(&tar.Header{Name: "usr/bin/app", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(exe))}, exe)
	add(&tar.Header{Name: "usr/bin/.wh..wh..opq", Typeflag: tar.TypeReg}, nil)
	add(&tar.Header{Name: "bin/app2", Typeflag: tar.TypeLink, Linkname: "usr/bin/app"}, nil)
	tw.Close()

	dir := t.TempDir()
	blobs := filepath.Join(dir, "blobs", "sha256")
	os.MkdirAll(blobs, 0o755)
	put := func(mt string, data []byte) ocilayout.Descriptor {
		sum := sha256.Sum256(data)
		h := hex.EncodeToString(sum[:])
		os.WriteFile(filepath.Join(blobs, h), data, 0o644)
		return ocilayout.Descriptor{MediaType: mt, Digest: "sha256:" + h, Size: int64(len(data))}
	}
	ld := put("application/vnd.oci.image.layer.v1.tar", layer.Bytes())
	config := put("application/vnd.oci.image.config.v1+json", []byte(`{}`))
	m, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": ocilayout.MediaTypeOCIManifest, "config": config, "layers": []any{ld}})
	md := put(ocilayout.MediaTypeOCIManifest, m)
	top, _ := json.Marshal(map[string]any{"schemaVersion": 2, "manifests": []any{md}})
	os.WriteFile(filepath.Join(dir, "index.json"), top, 0o644)
	os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
	l, err := ocilayout.Open(dir, ocilayout.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	bins, err := layoutBinaries(l, t.TempDir(), 1<<32)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, b := range bins {
		paths = append(paths, b.Path)
	}
	if strings.Join(paths, " ") != "/bin/app2 /usr/bin/app" {
		t.Fatalf("binaries at %v, want /bin/app2 (a hard link) and /usr/bin/app (kept by its own layer's opaque marker)", paths)
	}
}
