package ocipush

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// What cosign v3 writes for `cosign attest --new-bundle-format` and reads in
// `cosign verify-attestation` (pkg/oci/remote/write.go WriteAttestationNewBundleFormat,
// signatures.go Bundle).
const (
	// BundleMediaType is the referrer's artifactType and its one layer's media type.
	BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	// EmptyMediaType is the config of an artifact manifest, holding "{}".
	EmptyMediaType = "application/vnd.oci.empty.v1+json"

	annotationPredicateType = "dev.sigstore.bundle.predicateType"
	annotationContent       = "dev.sigstore.bundle.content"
	annotationCreated       = "org.opencontainers.image.created"
)

// referrer is a bundle read far enough to attach it: its statement's subjects
// and predicate type, and when the build finished.
type referrer struct {
	bundle        []byte
	predicateType string
	created       string // RFC 3339, or "" when the predicate does not say
	subjects      map[string]string
}

// newReferrer reads the in-toto statement of a bundle. The signature is not checked
// here: it is the caller's own bundle, and verifiers check it where they find it.
func newReferrer(bundle []byte) (*referrer, error) {
	var b struct {
		MediaType string `json:"mediaType"`
		DSSE      *struct {
			Payload     string `json:"payload"`
			PayloadType string `json:"payloadType"`
		} `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(bundle, &b); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidBundle, err)
	}
	if !strings.HasPrefix(b.MediaType, "application/vnd.dev.sigstore.bundle") || b.DSSE == nil {
		return nil, fmt.Errorf("%w: not a Sigstore bundle holding a DSSE envelope (media type %q)", ErrInvalidBundle, b.MediaType)
	}
	payload, err := base64.StdEncoding.DecodeString(b.DSSE.Payload)
	if err != nil {
		return nil, fmt.Errorf("%w: DSSE payload: %w", ErrInvalidBundle, err)
	}
	var st struct {
		PredicateType string `json:"predicateType"`
		Subject       []struct {
			Name   string            `json:"name"`
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
		Predicate struct {
			RunDetails struct {
				Metadata struct {
					FinishedOn string `json:"finishedOn"`
				} `json:"metadata"`
			} `json:"runDetails"`
		} `json:"predicate"`
	}
	if err := json.Unmarshal(payload, &st); err != nil {
		return nil, fmt.Errorf("%w: in-toto statement: %w", ErrInvalidBundle, err)
	}
	if st.PredicateType == "" {
		return nil, fmt.Errorf("%w: the statement has no predicate type", ErrInvalidBundle)
	}
	r := &referrer{bundle: bundle, predicateType: st.PredicateType, subjects: map[string]string{}}
	for _, s := range st.Subject {
		if d := s.Digest["sha256"]; d != "" {
			r.subjects[s.Name] = "sha256:" + d
		}
	}
	// The build's end, not the time of the push: the same bundle always makes the
	// same referrer, so pushing again adds no second one.
	if t, err := time.Parse(time.RFC3339Nano, st.Predicate.RunDetails.Metadata.FinishedOn); err == nil {
		r.created = t.UTC().Format(time.RFC3339)
	}
	return r, nil
}

func (r *referrer) names(imageName, digest string) bool { return r.subjects[imageName] == digest }

// manifest is the referrer: an OCI image manifest with artifactType, which
// go-containerregistry's v1.Manifest has no field for.
type manifest struct {
	SchemaVersion int64             `json:"schemaVersion"`
	MediaType     types.MediaType   `json:"mediaType"`
	ArtifactType  string            `json:"artifactType"`
	Config        v1.Descriptor     `json:"config"`
	Layers        []v1.Descriptor   `json:"layers"`
	Subject       *v1.Descriptor    `json:"subject"`
	Annotations   map[string]string `json:"annotations"`
}

// rawManifest is a manifest as remote.Put takes it.
type rawManifest []byte

func (m rawManifest) RawManifest() ([]byte, error)        { return m, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// attach uploads the empty config and the bundle, then puts the referrer manifest by
// its digest (go-containerregistry then updates the referrers tag when the registry
// has no referrers API) and returns that digest.
func (r *referrer) attach(ctx context.Context, p *remote.Pusher, ropts []remote.Option, repo name.Repository, subject v1.Descriptor) (string, error) {
	config := static.NewLayer([]byte("{}"), EmptyMediaType)
	layer := static.NewLayer(r.bundle, BundleMediaType)
	m := manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  BundleMediaType,
		Layers:        []v1.Descriptor{},
		Subject:       &subject,
		Annotations: map[string]string{
			annotationContent:       "dsse-envelope",
			annotationPredicateType: r.predicateType,
		},
	}
	if r.created != "" {
		m.Annotations[annotationCreated] = r.created
	}
	for i, l := range []v1.Layer{config, layer} {
		d, err := describe(l)
		if err != nil {
			return "", err
		}
		if err := p.Upload(ctx, repo, l); err != nil {
			return "", unavailable(fmt.Sprintf("uploading %s to %s", d.Digest, repo), err)
		}
		if i == 0 {
			m.Config = d
		} else {
			m.Layers = append(m.Layers, d)
		}
	}
	var raw bytes.Buffer
	enc := json.NewEncoder(&raw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return "", err
	}
	body := bytes.TrimSuffix(raw.Bytes(), []byte("\n"))
	d, _, err := v1.SHA256(bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	dst := repo.Digest(d.String())
	// Without the referrers API, go-containerregistry adds the referrer to the
	// sha256-<hex> tag's index by reading and rewriting it, which another writer (cosign,
	// a second job) can undo between the two: put again until the listing has it.
	for attempt := 1; ; attempt++ {
		if err := p.Put(ctx, dst, rawManifest(body)); err != nil {
			return "", unavailable(fmt.Sprintf("attaching the %s statement as %s", r.predicateType, dst), err)
		}
		listed, err := listed(repo.Digest(subject.Digest.String()), d, ropts)
		if err != nil {
			return "", unavailable(fmt.Sprintf("listing the referrers of %s", subject.Digest), err)
		}
		if listed {
			return d.String(), nil
		}
		if attempt == 3 {
			return "", fmt.Errorf("%w: the referrer %s is not among the referrers of %s after %d attempts: another writer keeps replacing the list; push again", ErrUnavailable, d, subject.Digest, attempt)
		}
	}
}

// listed reports whether the referrers of subject include d.
func listed(subject name.Digest, d v1.Hash, ropts []remote.Option) (bool, error) {
	idx, err := remote.Referrers(subject, ropts...)
	if err != nil {
		return false, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return false, err
	}
	for _, m := range im.Manifests {
		if m.Digest == d {
			return true, nil
		}
	}
	return false, nil
}

func describe(l v1.Layer) (v1.Descriptor, error) {
	d, err := l.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	n, err := l.Size()
	if err != nil {
		return v1.Descriptor{}, err
	}
	mt, err := l.MediaType()
	if err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: mt, Digest: d, Size: n}, nil
}
