package builder

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/slsabox/slsabox/internal/ocilayout"
)

// A layout whose indexes list the same child n times at every level passes
// ocilayout.Open (blobs are checked once each), but layoutBinaries walks every path:
// n^levels manifests, each re-read and each of its layers re-scanned.
func TestReviewLayoutBinariesRepeatedManifests(t *testing.T) {
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
	ms, err := imageManifests(l, l.Image, 0)
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
