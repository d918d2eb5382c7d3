package ociref

import (
	"fmt"

	"github.com/slsabox/slsabox/internal/ocilayout"
)

// CheckLayout checks that the layout ref names holds its image intact: index.json
// lists the digest, and every blob the image references is present, of its size,
// with its digest. The image's bytes are then the ones the digest names, as a
// registry's are.
func CheckLayout(ref Reference) error {
	l, err := openLayout(ref)
	if err != nil {
		return err
	}
	return l.Close()
}

func openLayout(ref Reference) (*ocilayout.Layout, error) {
	if !ref.Layout {
		return nil, fmt.Errorf("%w: %s is not an oci-layout: reference", ErrReference, ref)
	}
	// As large as a build may make an image (limits.output_size), within reason.
	l, err := ocilayout.OpenImage(ref.Name, ref.Digest, ocilayout.Limits{TotalSize: 64 << 30})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidImage, ref.Name, err)
	}
	return l, nil
}

// findInLayout reads the referrers of the image in a layout: the manifests of
// index.json whose subject is the image, as cosign save writes them (it lists each
// referrer there). A layout slsabox build wrote holds none.
func findInLayout(ref Reference, o options) ([]Bundle, error) {
	l, err := openLayout(ref)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	var bundles []Bundle
	for i, d := range l.Index {
		if i >= maxIndexEntries || len(bundles) >= maxReferrers {
			break
		}
		if d.Digest == ref.Digest || d.MediaType != mediaTypeOCIManifest || (d.ArtifactType != "" && !isBundleReferrer(d.ArtifactType)) {
			continue
		}
		source := ref.Name + "@" + d.Digest
		raw, err := l.ReadBlob(ocilayout.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size}, maxManifestSize)
		if err != nil {
			bundles = append(bundles, refused(source, err))
			continue
		}
		layer, err := checkReferrer(raw, ref.Digest, o.maxBundle)
		if isOther(err) {
			continue // another image's manifest, or another artifact of this one
		}
		if err != nil {
			bundles = append(bundles, refused(source, err))
			continue
		}
		data, err := l.ReadBlob(ocilayout.Descriptor{MediaType: layer.MediaType, Digest: layer.Digest, Size: layer.Size}, o.maxBundle)
		if err != nil {
			bundles = append(bundles, refused(source, err))
			continue
		}
		bundles = append(bundles, Bundle{Source: source, JSON: data})
	}
	return bundles, nil
}
