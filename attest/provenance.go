package attest

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/slsabox/slsabox/attest/spec"
)

// provenanceConfig is what the provenance records beyond the build result and the
// builder id.
type provenanceConfig struct {
	invocationID                  string
	slsaboxVersion, slsaboxDigest string
	noTlog                        bool
}

// ProvenanceOption adds to the provenance what the build result does not hold. It
// rejects a bad value with an ErrInvalidProvenance error, and Provenance fails with it.
type ProvenanceOption func(*provenanceConfig) error

// WithInvocationID names this run (a CI run URL when known) as
// runDetails.metadata.invocationId.
func WithInvocationID(id string) ProvenanceOption {
	return func(c *provenanceConfig) error {
		if strings.TrimSpace(id) == "" {
			return fmt.Errorf("%w: empty invocation id: name the run (a CI run URL) or leave the option out", ErrInvalidProvenance)
		}
		c.invocationID = id
		return nil
	}
}

// WithSlsaboxBinary identifies the builder: slsabox's version and the sha256 hex of
// its binary (empty when unknown), recorded as a builder dependency.
func WithSlsaboxBinary(version, sha256Hex string) ProvenanceOption {
	return func(c *provenanceConfig) error {
		if version == "" {
			return fmt.Errorf("%w: empty slsabox version: give the version (internal/version) or leave the option out", ErrInvalidProvenance)
		}
		if b, err := hex.DecodeString(sha256Hex); sha256Hex != "" && (err != nil || len(b) != 32) {
			return fmt.Errorf("%w: slsabox binary digest %q is not a sha256 (64 hex digits): give the binary's sha256, or none", ErrInvalidProvenance, sha256Hex)
		}
		c.slsaboxVersion, c.slsaboxDigest = version, strings.ToLower(sha256Hex)
		return nil
	}
}

// WithNoTlog records that the build was told not to log its provenance to a
// transparency log (slsabox build --no-tlog), as externalParameters.noTlog: the
// opt-out travels with the signed statement, where a verifier sees it.
func WithNoTlog() ProvenanceOption {
	return func(c *provenanceConfig) error {
		c.noTlog = true
		return nil
	}
}

// SourceURI returns the canonical "git+https://host/path" form of a git remote, with
// any credentials removed. A local remote is a file URL: "git+file:///abs/path" for
// an absolute path, a relative path resolved against repoRoot as git resolves it, a
// file:// URL as given; a repository without a remote is "git+file://<repoRoot>".
func SourceURI(remote, repoRoot string) string {
	r := strings.TrimSpace(remote)
	if r == "" {
		return "git+" + fileURL(repoRoot)
	}
	if !strings.Contains(r, "://") {
		m := scpLike().FindStringSubmatch(r)
		if m == nil {
			// Git's rule: no colon before the first slash makes a local path.
			if !filepath.IsAbs(r) {
				r = filepath.Join(repoRoot, r)
			}
			return "git+" + fileURL(r)
		}
		r = "https://" + m[1] + "/" + m[2]
	}
	r = strings.TrimPrefix(r, "git+")
	if u, err := url.Parse(r); err == nil && u.Scheme != "" {
		u.User = nil // a remote may carry a token: never record it
		u.RawQuery, u.Fragment = "", ""
		if u.Scheme == "ssh" || u.Scheme == "git" {
			u.Scheme = "https"
			u.Host = u.Hostname()
		}
		if u.Scheme != "file" {
			// Hosts serve repo.git as repo; on disk they are two directories.
			u.Path = strings.TrimSuffix(u.Path, ".git")
		}
		r = u.String()
	}
	return "git+" + r
}

// fileURL is the file:// URL of a local path: "/srv/my repo" is "file:///srv/my%20repo".
func fileURL(p string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Clean(p))}).String()
}

var scpLike = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(?:[^@/]+@)?([^:/]+):(.+?)(?:\.git)?/?$`) })

// Provenance builds the in-toto Statement with a SLSA v1 provenance predicate for b:
// one subject per output, the build definition and source as external parameters, the
// sandbox and limits as internal parameters, and the source, builder image and every
// input as resolved dependencies. builderID identifies the trust boundary that ran the
// build, e.g. "https://github.com/OWNER/REPO/.github/workflows/release.yml@refs/heads/main".
func Provenance(b *Build, builderID string, opts ...ProvenanceOption) (*intoto.Statement, error) {
	if builderID == "" {
		return nil, fmt.Errorf("%w: no builder id: name the trust boundary that ran the build", ErrInvalidProvenance)
	}
	var c provenanceConfig
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	if b == nil || b.Source.URI == "" || b.Source.Commit == "" || b.Image.Digest == "" || len(b.Subjects) == 0 {
		return nil, fmt.Errorf("%w: the build description is incomplete (source URI and commit, image digest and subjects are required)", ErrInvalidProvenance)
	}
	src := b.Source
	uri, ref := src.URI, src.Ref
	external, err := toStruct(map[string]any{
		"source": map[string]any{
			"uri":  uri,
			"ref":  ref,
			"path": src.Path,
		},
		"definition": map[string]any{
			"path":    b.Definition.Path,
			"sha256":  b.Definition.SHA256,
			"content": b.Definition.Content,
		},
		"allowDirty": b.AllowDirtyTree,
		"noTlog":     c.noTlog,
	})
	if err != nil {
		return nil, err
	}
	internal, err := toStruct(map[string]any{
		"sandbox": b.Sandbox,
		"limits":  b.Limits,
		"runtime": map[string]any{"snapshotter": b.Runtime.Snapshotter, "namespace": b.Runtime.Namespace},
		"image":   map[string]any{"platform": b.Image.Platform, "manifestDigest": b.Image.ManifestDigest, "configDigest": b.Image.ConfigDigest},
	})
	if err != nil {
		return nil, err
	}

	sourceDep := &intoto.ResourceDescriptor{
		Uri:    uri + "@" + ref,
		Digest: map[string]string{"gitCommit": src.Commit},
	}
	if ref == "" {
		sourceDep.Uri = uri
	}
	if src.Dirty {
		// The tree that ran is not the commit: say so where every verifier looks.
		sourceDep.Annotations, _ = structpb.NewStruct(map[string]any{"dirty": true})
	}
	imgHex, ok := strings.CutPrefix(b.Image.Digest, "sha256:")
	if !ok {
		return nil, fmt.Errorf("%w: image digest %q is not sha256", ErrInvalidProvenance, b.Image.Digest)
	}
	deps := []*intoto.ResourceDescriptor{
		sourceDep,
		{Name: "builder-image", Uri: b.Image.Ref, Digest: map[string]string{"sha256": imgHex}},
	}
	inputDeps, err := inputDependencies(b.Inputs)
	if err != nil {
		return nil, err
	}
	deps = append(deps, inputDeps...)

	builderDeps := []*intoto.ResourceDescriptor{}
	if c.slsaboxVersion != "" {
		d := &intoto.ResourceDescriptor{Name: "slsabox", Uri: "pkg:golang/github.com/slsabox/slsabox@" + c.slsaboxVersion}
		if c.slsaboxDigest != "" {
			d.Digest = map[string]string{"sha256": c.slsaboxDigest}
		}
		builderDeps = append(builderDeps, d)
	}
	for name, v := range map[string]string{"containerd": b.Runtime.Containerd, "runc": b.Runtime.Runc, "runsc": b.Runtime.Runsc} {
		if v != "" {
			builderDeps = append(builderDeps, &intoto.ResourceDescriptor{Name: name, Uri: "pkg:generic/" + name + "@" + v})
		}
	}
	sortByName(builderDeps)

	pred := &slsa.Provenance{
		BuildDefinition: &slsa.BuildDefinition{
			BuildType:            spec.BuildType,
			ExternalParameters:   external,
			InternalParameters:   internal,
			ResolvedDependencies: deps,
		},
		RunDetails: &slsa.RunDetails{
			Builder: &slsa.Builder{
				Id:                  builderID,
				Version:             map[string]string{"slsabox": c.slsaboxVersion},
				BuilderDependencies: builderDeps,
			},
			Metadata: &slsa.BuildMetadata{
				InvocationId: c.invocationID,
				StartedOn:    timestamppb.New(b.StartedOn),
				FinishedOn:   timestamppb.New(b.FinishedOn),
			},
			Byproducts: []*intoto.ResourceDescriptor{
				{Name: "build.log", MediaType: "text/plain", Digest: map[string]string{"sha256": b.LogSHA256}},
			},
		},
	}
	if c.slsaboxVersion == "" {
		pred.RunDetails.Builder.Version = nil
	}
	if err := pred.Validate(); err != nil {
		return nil, fmt.Errorf("%w: provenance: %w", ErrInvalidProvenance, err)
	}
	predStruct, err := protoToStruct(pred)
	if err != nil {
		return nil, err
	}
	st := &intoto.Statement{
		Type:          intoto.StatementTypeUri,
		PredicateType: spec.PredicateSLSAProvenance,
		Predicate:     predStruct,
	}
	st.Subject = Subjects(b)
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("%w: statement: %w", ErrInvalidProvenance, err)
	}
	return st, nil
}

// Subjects are the statement subjects of b's artifacts, in b's order, each named as
// built with its sha256: the subjects of the provenance, and of any other attestation
// about the same build (the SBOM), which must match them exactly.
func Subjects(b *Build) []*intoto.ResourceDescriptor {
	out := make([]*intoto.ResourceDescriptor, 0, len(b.Subjects))
	for _, s := range b.Subjects {
		out = append(out, &intoto.ResourceDescriptor{Name: s.Name, Digest: map[string]string{"sha256": s.SHA256}})
	}
	return out
}

// MarshalStatement returns the statement's JSON in a stable form: protojson
// deliberately varies its whitespace, so the output is compacted.
func MarshalStatement(st *intoto.Statement) ([]byte, error) {
	b, err := protojson.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("encoding statement: %w", err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return nil, fmt.Errorf("encoding statement: %w", err)
	}
	return buf.Bytes(), nil
}

// ParseStatement decodes a statement and checks it against the bindings' rules.
func ParseStatement(b []byte) (*intoto.Statement, error) {
	var st intoto.Statement
	if err := protojson.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("statement is not valid in-toto JSON: %w", err)
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("statement: %w", err)
	}
	return &st, nil
}

// toStruct converts Go values (structs included, through their JSON tags) to a Struct.
func toStruct(v any) (*structpb.Struct, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding parameters: %w", err)
	}
	s := &structpb.Struct{}
	if err := protojson.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("encoding parameters: %w", err)
	}
	return s, nil
}

func protoToStruct(p *slsa.Provenance) (*structpb.Struct, error) {
	b, err := protojson.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encoding predicate: %w", err)
	}
	s := &structpb.Struct{}
	if err := protojson.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("encoding predicate: %w", err)
	}
	return s, nil
}

func sortByName(d []*intoto.ResourceDescriptor) {
	slices.SortFunc(d, func(a, b *intoto.ResourceDescriptor) int { return strings.Compare(a.Name, b.Name) })
}
