package verify

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"
)

// Policy is what one artifact's provenance must say. The zero value of an optional
// field means "not checked"; required fields can only be waived by the options named
// Unsafe, which add a warning to the report.
type Policy struct {
	// Digest is the artifact's digest: ALG:HEX with ALG sha256, sha512 (npm packages'
	// subjects) or sha384, or a bare HEX, a sha256. Required. The subject must be named
	// by the same algorithm (ArtifactDigest computes the one a bundle's subjects use).
	Digest string `yaml:"digest" json:"digest,omitempty"`
	// BuilderID must equal runDetails.builder.id. Required unless AllowAnyBuilderUnsafe.
	BuilderID string `yaml:"builderID" json:"builderID,omitempty"`
	// BuildType must equal buildDefinition.buildType; empty means slsabox's (spec.BuildType).
	BuildType string `yaml:"buildType" json:"buildType,omitempty"`
	// SourceURI must equal externalParameters.source.uri (e.g. "git+https://github.com/o/r").
	// Required unless AllowAnySourceUnsafe.
	SourceURI string `yaml:"sourceURI" json:"sourceURI,omitempty"`
	// SourceRef, if set, must equal externalParameters.source.ref (e.g. "refs/heads/main").
	SourceRef string `yaml:"sourceRef" json:"sourceRef,omitempty"`
	// SourceCommit, if set, must equal the source dependency's gitCommit (full hex).
	SourceCommit string `yaml:"sourceCommit" json:"sourceCommit,omitempty"`
	// AllowedImages, if set, lists the builder images accepted: "sha256:HEX" digests or
	// references pinned by digest ("NAME@sha256:HEX").
	AllowedImages []string `yaml:"allowedImages" json:"allowedImages,omitempty"`
	// RequireHermetic requires slsabox's build type with a sandbox without network.
	RequireHermetic bool `yaml:"requireHermetic" json:"requireHermetic,omitempty"`
	// BuilderLevel is the SLSA Build level (1 to 3) you trust this builder to meet:
	// that it runs on a hosted platform (2) that keeps the signing key away from the
	// build steps (3) cannot be seen in the provenance, only known about the builder.
	// A verified report claims this level, 1 by default. Level 2 and 3 need a
	// BuilderID; level 3 also RequireHermetic.
	BuilderLevel int `yaml:"builderLevel" json:"builderLevel,omitempty"`
	// CertificateIdentity is who must have signed a keyless bundle (one that carries a
	// Fulcio certificate): the certificate's SAN and OIDC issuer, and its CI claims.
	// Required for keyless bundles, which fail without it; a key-signed bundle cannot
	// meet it (verify that with the builder's key and a policy without it).
	CertificateIdentity *Identity `yaml:"certificateIdentity,omitempty" json:"certificateIdentity,omitempty"`

	// AllowAnyBuilderUnsafe accepts provenance from any builder that holds the key.
	AllowAnyBuilderUnsafe bool `yaml:"allowAnyBuilderUnsafe" json:"allowAnyBuilderUnsafe,omitempty"`
	// AllowAnySourceUnsafe accepts an artifact built from any source.
	AllowAnySourceUnsafe bool `yaml:"allowAnySourceUnsafe" json:"allowAnySourceUnsafe,omitempty"`
	// AllowDirtyUnsafe accepts an artifact built from uncommitted changes (slsabox
	// build --allow-dirty): its source is not the commit the provenance names.
	AllowDirtyUnsafe bool `yaml:"allowDirtyUnsafe" json:"allowDirtyUnsafe,omitempty"`
}

// Opt-outs a Report lists (Report.OptOuts) when they were in effect. Any of them
// limits the report, and a VSA, to SLSA Build level 1.
const (
	OptOutNoTlog     = "WithoutTransparencyLogUnsafe"
	OptOutAnyBuilder = "AllowAnyBuilderUnsafe"
	OptOutAnySource  = "AllowAnySourceUnsafe"
	OptOutDirty      = "AllowDirtyUnsafe"
)

// optOuts lists the policy's opt-outs in effect.
func (p Policy) optOuts() []string {
	var out []string
	for _, o := range []struct {
		on   bool
		name string
	}{{p.AllowAnyBuilderUnsafe, OptOutAnyBuilder}, {p.AllowAnySourceUnsafe, OptOutAnySource}, {p.AllowDirtyUnsafe, OptOutDirty}} {
		if o.on {
			out = append(out, o.name)
		}
	}
	return out
}

// LoadPolicy parses a YAML policy (the Policy fields, by their yaml names). Unknown
// keys are rejected, so a misspelt expectation is never silently ignored. The digest
// may be left out and set per artifact by the caller; Verify checks completeness.
func LoadPolicy(data []byte) (Policy, error) {
	var p Policy
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		if errors.Is(err, io.EOF) {
			return Policy{}, fmt.Errorf("%w: the policy is empty", ErrInvalidPolicy)
		}
		return Policy{}, fmt.Errorf("%w: %w", ErrInvalidPolicy, err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return Policy{}, fmt.Errorf("%w: more than one YAML document", ErrInvalidPolicy)
	}
	if p.Digest != "" {
		if _, err := normalizeDigest(p.Digest); err != nil {
			return Policy{}, err
		}
	}
	return p, nil
}

// validate checks that the policy is complete and returns it normalized.
func (p Policy) validate() (Policy, error) {
	d, err := normalizeDigest(p.Digest)
	if err != nil {
		return p, err
	}
	p.Digest = d
	if p.BuilderID == "" && !p.AllowAnyBuilderUnsafe {
		return p, fmt.Errorf("%w: no builder id: give the one you trust (or AllowAnyBuilderUnsafe)", ErrInvalidPolicy)
	}
	if p.BuilderID != "" && p.AllowAnyBuilderUnsafe {
		return p, fmt.Errorf("%w: a builder id and AllowAnyBuilderUnsafe conflict", ErrInvalidPolicy)
	}
	if p.SourceURI == "" && !p.AllowAnySourceUnsafe {
		return p, fmt.Errorf("%w: no source uri: give the repository you expect (or AllowAnySourceUnsafe)", ErrInvalidPolicy)
	}
	if p.SourceURI != "" && p.AllowAnySourceUnsafe {
		return p, fmt.Errorf("%w: a source uri and AllowAnySourceUnsafe conflict", ErrInvalidPolicy)
	}
	if p.SourceCommit != "" {
		if _, err := hex.DecodeString(p.SourceCommit); err != nil || (len(p.SourceCommit) != 40 && len(p.SourceCommit) != 64) {
			return p, fmt.Errorf("%w: source commit %q is not a full git commit id", ErrInvalidPolicy, p.SourceCommit)
		}
		p.SourceCommit = strings.ToLower(p.SourceCommit)
	}
	switch {
	case p.BuilderLevel < 0 || p.BuilderLevel > 3:
		return p, fmt.Errorf("%w: builder level %d: the SLSA Build track has levels 1 to 3", ErrInvalidPolicy, p.BuilderLevel)
	case p.BuilderLevel >= 2 && p.BuilderID == "":
		return p, fmt.Errorf("%w: builder level %d rests on trusting one builder: give its builder id", ErrInvalidPolicy, p.BuilderLevel)
	case p.BuilderLevel == 3 && !p.RequireHermetic:
		return p, fmt.Errorf("%w: builder level 3 needs requireHermetic: the provenance must show the isolated sandbox", ErrInvalidPolicy)
	case p.BuilderLevel >= 2 && len(p.optOuts()) > 0:
		return p, fmt.Errorf("%w: builder level %d conflicts with the unsafe opt-out %s: a verification that waives a check claims level 1 at most",
			ErrInvalidPolicy, p.BuilderLevel, strings.Join(p.optOuts(), ", "))
	}
	for _, img := range p.AllowedImages {
		if _, ok := imageDigest(img); !ok {
			return p, fmt.Errorf("%w: allowed image %q is not pinned: give sha256:HEX or NAME@sha256:HEX", ErrInvalidPolicy, img)
		}
	}
	return p, nil
}

// imageDigest returns the sha256 hex an allowed image names.
func imageDigest(img string) (string, bool) {
	s := img
	if i := strings.LastIndex(s, "@"); i >= 0 {
		s = s[i+1:]
	}
	if !strings.HasPrefix(s, "sha256:") {
		return "", false
	}
	alg, h, err := ParseDigest(s)
	return h, err == nil && alg == "sha256"
}
