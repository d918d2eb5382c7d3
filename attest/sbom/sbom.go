package sbom

import (
	"errors"
	"fmt"
	"strings"

	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/slsabox/slsabox/attest"
	"github.com/slsabox/slsabox/attest/spec"
)

// Predicate types of the two formats, as cosign's --type cyclonedx and --type
// spdxjson name them.
// attest/spec holds them, for the verifier, which links no SBOM library.
const (
	PredicateCycloneDX = spec.PredicateCycloneDX
	PredicateSPDX      = spec.PredicateSPDX
)

// Format is an SBOM format.
type Format string

// The formats Statement writes.
const (
	CycloneDX Format = "cyclonedx" // CycloneDX 1.6 JSON, the default
	SPDX      Format = "spdx"      // SPDX 2.3 JSON
)

// ErrInvalidSBOM: the build description cannot make an SBOM, an option is wrong,
// or a predicate does not read as the SBOM it claims to be.
var ErrInvalidSBOM = errors.New("invalid SBOM")

// ParseFormat reads a format's name ("" is the default, CycloneDX).
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case "":
		return CycloneDX, nil
	case CycloneDX, SPDX:
		return f, nil
	}
	return "", fmt.Errorf("%w: unknown SBOM format %.40q: use cyclonedx (CycloneDX 1.6 JSON) or spdx (SPDX 2.3 JSON)", ErrInvalidSBOM, s)
}

// PredicateType is the in-toto predicate type of the format.
func (f Format) PredicateType() string {
	if f == SPDX {
		return PredicateSPDX
	}
	return PredicateCycloneDX
}

type config struct {
	toolName, toolVersion string
}

// Option adds to the SBOM what the build description does not hold.
type Option func(*config) error

// WithTool names the tool that wrote the SBOM (slsabox and its version; the default
// is "slsabox" with version "unknown").
func WithTool(name, version string) Option {
	return func(c *config) error {
		if strings.TrimSpace(name) == "" || strings.TrimSpace(version) == "" {
			return fmt.Errorf("%w: empty tool name or version: give both, or leave the option out", ErrInvalidSBOM)
		}
		c.toolName, c.toolVersion = name, version
		return nil
	}
}

// Statement returns the in-toto Statement whose subjects are b's subjects (as
// attest.Provenance names them, in the same order) and whose predicate is the SBOM
// of b in format ("" for CycloneDX). The same b gives the same bytes: identifiers
// derive from the content, the timestamp is b.FinishedOn.
func Statement(b *attest.Build, format Format, opts ...Option) (*intoto.Statement, error) {
	c := config{toolName: "slsabox", toolVersion: "unknown"}
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	if format == "" {
		format = CycloneDX
	}
	if b == nil || b.Source.URI == "" || b.Source.Commit == "" || b.Image.Digest == "" || len(b.Subjects) == 0 {
		return nil, fmt.Errorf("%w: the build description is incomplete (source URI and commit, image digest and subjects are required)", ErrInvalidSBOM)
	}
	var (
		doc []byte
		err error
	)
	switch format {
	case CycloneDX:
		doc, err = cycloneDX(b, c)
	case SPDX:
		doc, err = spdxDocument(b, c)
	default:
		_, err = ParseFormat(string(format))
	}
	if err != nil {
		return nil, err
	}
	pred := &structpb.Struct{}
	if err := protojson.Unmarshal(doc, pred); err != nil {
		return nil, fmt.Errorf("%w: encoding the predicate: %w", ErrInvalidSBOM, err)
	}
	st := &intoto.Statement{
		Type:          intoto.StatementTypeUri,
		Subject:       attest.Subjects(b),
		PredicateType: format.PredicateType(),
		Predicate:     pred,
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("%w: statement: %w", ErrInvalidSBOM, err)
	}
	return st, nil
}

// goPURL is the package URL of a Go module version.
func goPURL(path, version string) string {
	if version == "" || version == "(devel)" {
		return "pkg:golang/" + path
	}
	return "pkg:golang/" + path + "@" + version
}

// stdlibPURL is the Go standard library of a toolchain ("go1.26.8"), as syft and
// the purl spec name it: pkg:golang/stdlib@1.26.8.
func stdlibPURL(goVersion string) string {
	return "pkg:golang/stdlib@" + strings.TrimPrefix(goVersion, "go")
}

// repoName is a readable name of the source: its URI without scheme and "git+".
func repoName(uri string) string {
	s := strings.TrimPrefix(uri, "git+")
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	return strings.TrimSuffix(s, "/")
}

// sourceLocator is the source as a VCS locator: URI@commit.
func sourceLocator(s attest.Source) string { return s.URI + "@" + s.Commit }

// goModInput reports whether an input is a Go module, and whether only its go.mod.
func goModInput(in attest.Input) (path, version string, goModOnly, ok bool) {
	mv, ok := strings.CutPrefix(in.URI, "pkg:golang/")
	if !ok {
		return "", "", false, false
	}
	mv, goModOnly = strings.CutSuffix(mv, "#go.mod")
	path, version, ok = strings.Cut(mv, "@")
	return path, version, goModOnly, ok
}
