// Package ocitest pushes test images and attaches bundles to them in the shape
// cosign v3 writes, so that tests of verification need no other branch's push
// code. Tests only.
package ocitest

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// BundleMediaType is the referrer's artifact type and its layer's media type.
const BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"

// Manifest is a referrer manifest as JSON fields, for a test to change before
// Attach pushes it.
type Manifest map[string]any

// PushRandom pushes a small random image to repo by digest and returns its manifest
// descriptor.
func PushRandom(repo name.Repository, opts ...remote.Option) (v1.Descriptor, error) {
	img, err := random.Image(256, 1)
	if err != nil {
		return v1.Descriptor{}, err
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	d, err := img.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	if err := remote.Write(repo.Digest(d.String()), img, opts...); err != nil {
		return v1.Descriptor{}, err
	}
	raw, _ := img.RawManifest()
	return v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: d, Size: int64(len(raw))}, nil
}

// Attach pushes bundle as a referrer of subject, as cosign attest
// --new-bundle-format does, after edit (nil: none) changes the manifest; it returns
// the referrer's digest. go-containerregistry updates the referrers tag schema
// sha256-HEX where the registry serves no referrers API.
func Attach(repo name.Repository, subject v1.Descriptor, bundle []byte, edit func(Manifest), opts ...remote.Option) (v1.Hash, error) {
	layer := static.NewLayer(bundle, BundleMediaType)
	config := static.NewLayer([]byte("{}"), "application/vnd.oci.empty.v1+json")
	for _, l := range []v1.Layer{layer, config} {
		if err := remote.WriteLayer(repo, l, opts...); err != nil {
			return v1.Hash{}, err
		}
	}
	ld, _ := layer.Digest()
	cd, _ := config.Digest()
	m := Manifest{
		"schemaVersion": 2,
		"mediaType":     string(types.OCIManifestSchema1),
		"artifactType":  BundleMediaType,
		"config":        map[string]any{"mediaType": "application/vnd.oci.empty.v1+json", "digest": cd.String(), "size": 2},
		"layers":        []any{map[string]any{"mediaType": BundleMediaType, "digest": ld.String(), "size": len(bundle)}},
		"subject":       map[string]any{"mediaType": string(subject.MediaType), "digest": subject.Digest.String(), "size": subject.Size},
		"annotations": map[string]string{
			"dev.sigstore.bundle.content":       "dsse-envelope",
			"dev.sigstore.bundle.predicateType": "https://slsa.dev/provenance/v1",
		},
	}
	if edit != nil {
		edit(m)
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return v1.Hash{}, err
	}
	t := rawManifest{raw}
	h, _, _ := v1.SHA256(bytes.NewReader(raw))
	if err := remote.Put(repo.Digest(h.String()), t, opts...); err != nil {
		return v1.Hash{}, fmt.Errorf("pushing the referrer: %w", err)
	}
	return h, nil
}

type rawManifest struct{ raw []byte }

func (r rawManifest) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }
