package ocilayout

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// FuzzOpen feeds Open an arbitrary index.json and an arbitrary blob stored under
// its true digest. Property: what Open accepts, WriteTo copies into a layout that
// Open accepts again with the same image and blobs, and every accepted blob hashes
// to its name.
func FuzzOpen(f *testing.F) {
	dir, man := goodLayout(f)
	f.Add(must(os.ReadFile(filepath.Join(dir, "index.json"))), must(os.ReadFile(blobFile(dir, man))))
	f.Add([]byte(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":2}]}`), []byte(`{}`))
	f.Fuzz(func(t *testing.T, index, blob []byte) {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755)
		os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
		os.WriteFile(filepath.Join(dir, "index.json"), index, 0o644)
		os.WriteFile(filepath.Join(dir, "blobs", "sha256", fmt.Sprintf("%x", sha256.Sum256(blob))), blob, 0o644)
		l, err := Open(dir, Limits{TotalSize: 1 << 20})
		if err != nil {
			return
		}
		defer l.Close()
		dst := filepath.Join(t.TempDir(), "copy")
		if err := l.WriteTo(dst, "r.example/x"); err != nil {
			t.Fatalf("accepted but not copied: %v", err)
		}
		c, err := Open(dst, Limits{TotalSize: 1 << 20})
		if err != nil {
			t.Fatalf("the copy does not check: %v", err)
		}
		defer c.Close()
		if c.Image.Digest != l.Image.Digest || c.Image.Size != l.Image.Size || c.Image.MediaType != l.Image.MediaType || len(c.Blobs) != len(l.Blobs) {
			t.Fatalf("copy differs: %+v vs %+v", c.Image, l.Image)
		}
		for _, b := range c.Blobs {
			data := must(os.ReadFile(filepath.Join(dst, filepath.FromSlash(blobPath(b.Digest)))))
			if fmt.Sprintf("sha256:%x", sha256.Sum256(data)) != b.Digest {
				t.Fatalf("blob %s does not hash to its name", b.Digest)
			}
		}
	})
}
