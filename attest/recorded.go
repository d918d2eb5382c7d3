package attest

import (
	"fmt"
	"strings"

	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/slsabox/slsabox/attest/spec"
)

// inputDependencies turns the build's declared inputs into resolved dependencies:
// files by URL and sha256, Go modules as pkg:golang/PATH@VERSION (#go.mod for a
// go.mod hash) with in-toto's dirHash and the go.sum form as the annotation goSum.
func inputDependencies(inputs []Input) ([]*intoto.ResourceDescriptor, error) {
	var deps []*intoto.ResourceDescriptor
	for _, in := range inputs {
		if in.URI == "" || len(in.Digest) == 0 {
			return nil, fmt.Errorf("%w: input %q has no URI or digest", ErrInvalidProvenance, in.Name)
		}
		d := &intoto.ResourceDescriptor{Name: in.Name, Uri: in.URI, Digest: in.Digest}
		if in.GoSum != "" {
			d.Annotations, _ = structpb.NewStruct(map[string]any{"goSum": in.GoSum})
		}
		deps = append(deps, d)
	}
	return deps, nil
}

// RecordedBuild is what slsabox provenance says about how to run its build again.
type RecordedBuild struct {
	BuildType  string
	SourceURI  string // externalParameters.source.uri
	SourceRef  string
	SourcePath string // the build's directory inside the repository ("" for its root)
	Commit     string // the source dependency's gitCommit
	Dirty      bool   // the tree that was built had uncommitted changes
	// DefinitionPath is the path of slsabox.yaml inside the repository (or as given,
	// when it was outside); DefinitionContent its bytes and DefinitionSHA256 their digest.
	DefinitionPath, DefinitionSHA256, DefinitionContent string
	Image                                               string // the builder image reference as resolved
	ImageDigest                                         string // sha256:HEX
	Inputs                                              []Input
	Subjects                                            []Subject // name and sha256 of every artifact
	SlsaboxVersion                                      string    // runDetails.builder.version.slsabox
	// Runtime is internalParameters.sandbox.runtime: "runc" or "gvisor" ("" in
	// provenance from before slsabox recorded it, all of it runc).
	Runtime string
}

// ReadProvenance extracts the recorded build from a statement written by Provenance.
// It reads what the predicate claims; verify the bundle first to trust it.
func ReadProvenance(st *intoto.Statement) (*RecordedBuild, error) {
	if st == nil || st.GetPredicateType() != spec.PredicateSLSAProvenance {
		return nil, fmt.Errorf("%w: the statement is not SLSA v1 provenance", ErrInvalidProvenance)
	}
	b, err := protojson.Marshal(st.GetPredicate())
	if err != nil {
		return nil, fmt.Errorf("%w: predicate: %w", ErrInvalidProvenance, err)
	}
	var pred slsa.Provenance
	if err := protojson.Unmarshal(b, &pred); err != nil {
		return nil, fmt.Errorf("%w: predicate: %w", ErrInvalidProvenance, err)
	}
	bd := pred.GetBuildDefinition()
	r := &RecordedBuild{BuildType: bd.GetBuildType()}
	if r.BuildType != spec.BuildType {
		return nil, fmt.Errorf("%w: build type %q is not slsabox's (%s): only slsabox builds can be run again", ErrInvalidProvenance, r.BuildType, spec.BuildType)
	}
	ext := bd.GetExternalParameters().AsMap()
	str := func(m any, key string) string {
		if mm, ok := m.(map[string]any); ok {
			if s, ok := mm[key].(string); ok {
				return s
			}
		}
		return ""
	}
	r.SourceURI, r.SourceRef, r.SourcePath = str(ext["source"], "uri"), str(ext["source"], "ref"), str(ext["source"], "path")
	r.DefinitionPath = str(ext["definition"], "path")
	r.DefinitionSHA256 = str(ext["definition"], "sha256")
	r.DefinitionContent = str(ext["definition"], "content")
	if r.DefinitionContent == "" || r.DefinitionSHA256 == "" {
		return nil, fmt.Errorf("%w: the provenance records no build definition", ErrInvalidProvenance)
	}
	for _, d := range bd.GetResolvedDependencies() {
		switch {
		case d.GetDigest()["gitCommit"] != "" && r.Commit == "":
			r.Commit = d.GetDigest()["gitCommit"]
			if v, ok := d.GetAnnotations().AsMap()["dirty"].(bool); ok && v {
				r.Dirty = true
			}
		case d.GetName() == "builder-image":
			r.Image, r.ImageDigest = d.GetUri(), "sha256:"+d.GetDigest()["sha256"]
		default:
			in := Input{Name: d.GetName(), URI: d.GetUri(), Digest: d.GetDigest()}
			if s, ok := d.GetAnnotations().AsMap()["goSum"].(string); ok {
				in.GoSum = s
			}
			r.Inputs = append(r.Inputs, in)
		}
	}
	if r.Commit == "" {
		return nil, fmt.Errorf("%w: the provenance records no source commit", ErrInvalidProvenance)
	}
	if r.Image == "" {
		return nil, fmt.Errorf("%w: the provenance records no builder image", ErrInvalidProvenance)
	}
	r.SlsaboxVersion = pred.GetRunDetails().GetBuilder().GetVersion()["slsabox"]
	r.Runtime = str(bd.GetInternalParameters().AsMap()["sandbox"], "runtime")
	for _, s := range st.GetSubject() {
		r.Subjects = append(r.Subjects, Subject{Name: s.GetName(), SHA256: strings.ToLower(s.GetDigest()["sha256"])})
	}
	return r, nil
}
