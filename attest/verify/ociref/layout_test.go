package ociref

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// testLayout writes an image and, as cosign save does, a bundle referrer of subject
// (the image when zero) listed in index.json.
func testLayout(t *testing.T, bundle []byte, subject v1.Hash) (dir string, img v1.Hash, bundleDigest v1.Hash) {
	t.Helper()
	dir = t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	im, err := random.Image(128, 2)
	if err != nil {
		t.Fatal(err)
	}
	im = mutate.MediaType(im, types.OCIManifestSchema1)
	if err := p.AppendImage(im); err != nil {
		t.Fatal(err)
	}
	img, _ = im.Digest()
	imgSize, _ := im.Size()
	if subject == (v1.Hash{}) {
		subject = img
	}
	write := func(data []byte) v1.Hash {
		h, _, _ := v1.SHA256(bytes.NewReader(data))
		if err := p.WriteBlob(h, nopCloser{bytes.NewReader(data)}); err != nil {
			t.Fatal(err)
		}
		return h
	}
	cfg := write([]byte("{}"))
	bundleDigest = write(bundle)
	m, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": mediaTypeOCIManifest, "artifactType": BundleMediaType,
		"config":  map[string]any{"mediaType": mediaTypeEmpty, "digest": cfg.String(), "size": 2},
		"layers":  []any{map[string]any{"mediaType": BundleMediaType, "digest": bundleDigest.String(), "size": len(bundle)}},
		"subject": map[string]any{"mediaType": mediaTypeOCIManifest, "digest": subject.String(), "size": imgSize},
	})
	md := write(m)
	if err := p.AppendDescriptor(v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: md, Size: int64(len(m)),
		Annotations: map[string]string{"kind": "dev.cosignproject.cosign/image"}}); err != nil {
		t.Fatal(err)
	}
	return dir, img, bundleDigest
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

func TestFindLayout(t *testing.T) {
	ctx := context.Background()
	bundleJSON := []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`)

	dir, img, _ := testLayout(t, bundleJSON, v1.Hash{})
	ref := Reference{Name: dir, Digest: img.String(), Layout: true}
	got, err := Find(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Err != nil || !bytes.Equal(got[0].JSON, bundleJSON) {
		t.Fatalf("Find = %+v, want the bundle", got)
	}
	if err := CheckLayout(ref); err != nil {
		t.Fatalf("CheckLayout = %v", err)
	}

	if got, err = Find(ctx, ref, WithMaxBundleSize(8)); err != nil || len(got) != 1 || !errors.Is(got[0].Err, ErrRefused) {
		t.Errorf("Find with an 8-byte limit = %+v, %v; want the referrer refused", got, err)
	}

	// Another image's attestation in the same layout is not this one's.
	other := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("cd", 32)}
	dir2, img2, _ := testLayout(t, bundleJSON, other)
	if _, err := Find(ctx, Reference{Name: dir2, Digest: img2.String(), Layout: true}); !errors.Is(err, ErrNoAttestation) {
		t.Errorf("Find with only another image's referrer = %v, want ErrNoAttestation", err)
	}

	// A digest the layout does not list.
	if _, err := Find(ctx, Reference{Name: dir, Digest: other.String(), Layout: true}); !errors.Is(err, ErrInvalidImage) {
		t.Errorf("Find of an image the layout lacks = %v, want ErrInvalidImage", err)
	}
}

func TestFindLayoutTampered(t *testing.T) {
	bundleJSON := []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`)
	for _, tc := range []struct {
		name   string
		tamper func(dir string, img, bundle v1.Hash) string // returns the blob changed
		image  bool                                         // the image fails, not the referrer
	}{
		{"image layer", func(dir string, img, _ v1.Hash) string {
			var m v1.Manifest
			data, _ := os.ReadFile(filepath.Join(dir, "blobs", "sha256", img.Hex))
			json.Unmarshal(data, &m)
			return m.Layers[1].Digest.Hex
		}, true},
		{"image manifest", func(_ string, img, _ v1.Hash) string { return img.Hex }, true},
		{"bundle", func(_ string, _, b v1.Hash) string { return b.Hex }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, img, b := testLayout(t, bundleJSON, v1.Hash{})
			blob := filepath.Join(dir, "blobs", "sha256", tc.tamper(dir, img, b))
			data, err := os.ReadFile(blob)
			if err != nil {
				t.Fatal(err)
			}
			data[len(data)-2] ^= 1 // same size, another digest
			if err := os.WriteFile(blob, data, 0o644); err != nil {
				t.Fatal(err)
			}
			ref := Reference{Name: dir, Digest: img.String(), Layout: true}
			got, err := Find(context.Background(), ref)
			if tc.image {
				if !errors.Is(err, ErrInvalidImage) || !strings.Contains(err.Error(), "does not match its digest") {
					t.Fatalf("Find = %+v, %v; want ErrInvalidImage", got, err)
				}
				if err := CheckLayout(ref); !errors.Is(err, ErrInvalidImage) {
					t.Fatalf("CheckLayout = %v, want ErrInvalidImage", err)
				}
				return
			}
			if err != nil || len(got) != 1 || !errors.Is(got[0].Err, ErrRefused) || !strings.Contains(got[0].Err.Error(), "does not match its digest") {
				t.Fatalf("Find = %+v, %v; want the referrer refused", got, err)
			}
		})
	}
}
