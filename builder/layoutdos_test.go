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
	hl := newHandLayout(t)
	d := hl.image(make([]byte, 1024)) // an empty tar
	const n, levels = 20, 3
	for range levels {
		list := make([]ocilayout.Descriptor, n)
		for i := range list {
			list[i] = d
		}
		idx, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": ocilayout.MediaTypeOCIIndex, "manifests": list})
		d = hl.put(ocilayout.MediaTypeOCIIndex, idx)
	}
	l := hl.open(d)
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

	hl := newHandLayout(t)
	bins, err := layoutBinaries(hl.open(hl.image(layer.Bytes())), t.TempDir(), 1<<32)
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

// handLayout is an OCI layout written by hand in a test's temporary directory, for
// layouts ociarchive would never write.
type handLayout struct {
	t   *testing.T
	dir string
}

func newHandLayout(t *testing.T) *handLayout {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		t.Fatal(err)
	}
	return &handLayout{t, dir}
}

// put stores data as a blob of media type mt and returns its descriptor.
func (h *handLayout) put(mt string, data []byte) ocilayout.Descriptor {
	h.t.Helper()
	sum := sha256.Sum256(data)
	hx := hex.EncodeToString(sum[:])
	if err := os.WriteFile(filepath.Join(h.dir, "blobs", "sha256", hx), data, 0o644); err != nil {
		h.t.Fatal(err)
	}
	return ocilayout.Descriptor{MediaType: mt, Digest: "sha256:" + hx, Size: int64(len(data))}
}

// image stores an image of one layer and an empty config, and returns its manifest.
func (h *handLayout) image(layer []byte) ocilayout.Descriptor {
	ld := h.put("application/vnd.oci.image.layer.v1.tar", layer)
	config := h.put("application/vnd.oci.image.config.v1+json", []byte(`{}`))
	m, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": ocilayout.MediaTypeOCIManifest, "config": config, "layers": []any{ld}})
	return h.put(ocilayout.MediaTypeOCIManifest, m)
}

// open writes the layout's index.json, naming top, and its oci-layout file, and
// opens it (openLayout).
func (h *handLayout) open(top ocilayout.Descriptor) *ocilayout.Layout {
	h.t.Helper()
	index, _ := json.Marshal(map[string]any{"schemaVersion": 2, "manifests": []any{top}})
	for name, data := range map[string][]byte{"index.json": index, "oci-layout": []byte(`{"imageLayoutVersion":"1.0.0"}`)} {
		if err := os.WriteFile(filepath.Join(h.dir, name), data, 0o644); err != nil {
			h.t.Fatal(err)
		}
	}
	return openLayout(h.t, h.dir)
}

// openLayout opens the OCI layout in dir, closed when the test ends.
func openLayout(t *testing.T, dir string) *ocilayout.Layout {
	t.Helper()
	l, err := ocilayout.Open(dir, ocilayout.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}
