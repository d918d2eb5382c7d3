package ociref

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Media types of an attached bundle, as cosign v3 writes them.
const (
	// BundleMediaType is the referrer's artifactType and its layer's media type.
	BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	// bundleMediaTypePrefix also covers the older spellings cosign reads
	// (application/vnd.dev.sigstore.bundle+json;version=0.3).
	bundleMediaTypePrefix = "application/vnd.dev.sigstore.bundle"
	mediaTypeOCIManifest  = "application/vnd.oci.image.manifest.v1+json"
	mediaTypeEmpty        = "application/vnd.oci.empty.v1+json"
)

// Bounds on what a registry or a layout may make Find read.
const (
	maxManifestSize = 4 << 20 // a referrer manifest, a referrers index
	// DefaultMaxBundleSize bounds one bundle layer. A provenance bundle is a few
	// kilobytes, a few megabytes with thousands of subjects.
	DefaultMaxBundleSize = 8 << 20
	// maxReferrers bounds the bundle referrers fetched for one image; the rest are
	// ignored.
	maxReferrers = 32
	// maxIndexEntries bounds the manifests of a layout's index.json read for referrers.
	maxIndexEntries = 1024
)

type descriptor struct {
	MediaType    string `json:"mediaType"`
	ArtifactType string `json:"artifactType,omitempty"`
	Digest       string `json:"digest"`
	Size         int64  `json:"size"`
}

type referrerManifest struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	ArtifactType  string       `json:"artifactType"`
	Config        descriptor   `json:"config"`
	Layers        []descriptor `json:"layers"`
	Subject       *descriptor  `json:"subject"`
}

// A registry lists a manifest as a referrer of the image while the manifest itself
// says otherwise: refused. In a layout, whose index.json lists every manifest, it
// is merely another one (isOther).
var (
	errNotBundle    = fmt.Errorf("%w: not a Sigstore bundle referrer", ErrRefused)
	errOtherSubject = fmt.Errorf("%w: another subject", ErrRefused)
)

func isOther(err error) bool { return errors.Is(err, errNotBundle) || errors.Is(err, errOtherSubject) }

// isBundleReferrer reports whether a referrers list entry announces a bundle.
func isBundleReferrer(artifactType string) bool {
	return strings.HasPrefix(artifactType, bundleMediaTypePrefix)
}

// checkReferrer parses a referrer manifest and returns its bundle layer, refusing
// anything but the shape cosign writes for subject, with a layer of at most
// maxBundle bytes. The registry listing a manifest as a referrer of subject
// proves nothing: its own subject field must say so.
func checkReferrer(raw []byte, subject string, maxBundle int64) (descriptor, error) {
	var m referrerManifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return descriptor{}, fmt.Errorf("%w: the manifest does not parse: %w", errNotBundle, err)
	}
	artifactType := m.ArtifactType
	if artifactType == "" {
		artifactType = m.Config.MediaType // OCI 1.1: the config's media type stands in
	}
	switch {
	case m.SchemaVersion != 2 || m.MediaType != mediaTypeOCIManifest:
		return descriptor{}, fmt.Errorf("%w: not an OCI image manifest (schemaVersion %d, mediaType %.80q)", errNotBundle, m.SchemaVersion, m.MediaType)
	case !isBundleReferrer(artifactType):
		return descriptor{}, fmt.Errorf("%w: artifactType %.80q is not a Sigstore bundle", errNotBundle, artifactType)
	case m.Subject == nil:
		return descriptor{}, fmt.Errorf("%w: the manifest has no subject, it refers to no image", errOtherSubject)
	case m.Subject.Digest != subject:
		return descriptor{}, fmt.Errorf("%w: its subject is %.80s, not the image %s: it is another image's attestation", errOtherSubject, m.Subject.Digest, subject)
	case len(m.Layers) != 1:
		return descriptor{}, fmt.Errorf("%w: %d layers; a bundle referrer has exactly one", ErrRefused, len(m.Layers))
	}
	l := m.Layers[0]
	switch {
	case !strings.HasPrefix(l.MediaType, bundleMediaTypePrefix):
		return descriptor{}, fmt.Errorf("%w: its layer is a %.80q, not a Sigstore bundle", ErrRefused, l.MediaType)
	case !digestRE().MatchString(l.Digest):
		return descriptor{}, fmt.Errorf("%w: its layer digest %.80q is not sha256:<64 lowercase hex>", ErrRefused, l.Digest)
	case l.Size < 0 || l.Size > maxBundle:
		return descriptor{}, fmt.Errorf("%w: its bundle layer declares %d bytes, more than the %d a bundle may have", ErrRefused, l.Size, maxBundle)
	}
	return l, nil
}
