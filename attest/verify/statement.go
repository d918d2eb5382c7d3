package verify

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"

	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/slsabox/slsabox/attest/spec"
)

type statement = intoto.Statement

// checkStatement runs the policy checks on a statement whose signature verified.
func checkStatement(st *statement, payload []byte, p Policy, results map[string]result, r *Report) {
	pred, err := provenance(st, payload)
	if err != nil {
		results[CheckPredicateType] = fail(ErrPolicy, err)
	} else {
		results[CheckPredicateType] = pass(spec.PredicateSLSAProvenance)
	}
	results[CheckSubjectDigest] = checkSubject(st, p.Digest)
	if pred == nil {
		// Without a readable predicate every predicate check fails for the same reason.
		for _, n := range []string{CheckBuilderID, CheckBuildType, CheckSourceURI, CheckSourceRef, CheckSourceCommit, CheckCleanSource, CheckBuilderImage, CheckHermetic} {
			results[n] = failf(errFor(n), "no SLSA v1 provenance to check")
		}
		return
	}

	builderID := pred.GetRunDetails().GetBuilder().GetId()
	switch {
	case p.AllowAnyBuilderUnsafe:
		results[CheckBuilderID] = skip("any builder accepted (unsafe opt-out); provenance says " + quote(builderID))
	case builderID == p.BuilderID:
		results[CheckBuilderID] = pass(builderID)
	default:
		results[CheckBuilderID] = failf(ErrUntrustedBuilder, "want %s, got %s", p.BuilderID, quote(builderID))
	}

	buildType := pred.GetBuildDefinition().GetBuildType()
	wantType := p.BuildType
	if wantType == "" {
		wantType = spec.BuildType
	}
	results[CheckBuildType] = equal(wantType, buildType, true)

	ext := pred.GetBuildDefinition().GetExternalParameters()
	source := ext.GetFields()["source"].GetStructValue()
	uri := str(source, "uri")
	if p.AllowAnySourceUnsafe {
		results[CheckSourceURI] = skip("any source accepted (unsafe opt-out); provenance says " + quote(uri))
	} else {
		results[CheckSourceURI] = equal(p.SourceURI, uri, true)
	}
	results[CheckSourceRef] = equal(p.SourceRef, str(source, "ref"), p.SourceRef != "")
	if ext.GetFields()["noTlog"].GetBoolValue() {
		r.Warnings = append(r.Warnings, "built with --no-tlog: the builder was told not to log this provenance to a transparency log")
	}

	deps := pred.GetBuildDefinition().GetResolvedDependencies()
	var (
		commit string
		dirty  bool
	)
	if len(deps) > 0 {
		commit = strings.ToLower(deps[0].GetDigest()["gitCommit"])
		dirty = deps[0].GetAnnotations().GetFields()["dirty"].GetBoolValue()
	}
	results[CheckSourceCommit] = equal(p.SourceCommit, commit, p.SourceCommit != "")
	switch {
	case !dirty:
		results[CheckCleanSource] = pass("no uncommitted changes recorded")
	case p.AllowDirtyUnsafe:
		results[CheckCleanSource] = skip("built from uncommitted changes on top of " + quote(commit) + ", accepted (unsafe opt-out)")
		r.Warnings = append(r.Warnings, "built from a dirty work tree (accepted by unsafe opt-out): the source is not exactly commit "+quote(commit))
	default:
		results[CheckCleanSource] = failf(ErrPolicy, "built from uncommitted changes (slsabox build --allow-dirty) on top of %s: the source is not that commit; accept it only with AllowDirtyUnsafe (--allow-dirty-unsafe)", quote(commit))
	}
	results[CheckBuilderImage] = checkImage(deps, p.AllowedImages)

	network := str(pred.GetBuildDefinition().GetInternalParameters().GetFields()["sandbox"].GetStructValue(), "network")
	hermetic := buildType == spec.BuildType && network == "none"
	switch {
	case !p.RequireHermetic:
		results[CheckHermetic] = skip(fmt.Sprintf("not required (sandbox network %s)", quote(network)))
	case hermetic:
		results[CheckHermetic] = pass("slsabox sandbox without network")
	default:
		results[CheckHermetic] = failf(ErrPolicy, "want build type %s with sandbox network \"none\", got %s with network %s", spec.BuildType, quote(buildType), quote(network))
	}
}

// provenance checks the statement and predicate types and reads the SLSA v1 fields
// the checks use out of the predicate the statement's parser already decoded (a
// Struct). Decoding the signed payload a second time, with protojson into the typed
// predicate, was a fifth of a verification. A field of the wrong JSON type, or a
// required field missing, makes the predicate invalid, as it did for protojson and
// the bindings' Validate.
func provenance(st *statement, _ []byte) (*slsa.Provenance, error) {
	if st.GetType() != intoto.StatementTypeUri {
		return nil, fmt.Errorf("statement type %s is not %s", quote(st.GetType()), intoto.StatementTypeUri)
	}
	if st.GetPredicateType() != spec.PredicateSLSAProvenance {
		return nil, fmt.Errorf("want %s, got %s", spec.PredicateSLSAProvenance, quote(st.GetPredicateType()))
	}
	r := structReader{}
	bd := r.object(st.GetPredicate(), "buildDefinition")
	rd := r.object(st.GetPredicate(), "runDetails")
	pred := &slsa.Provenance{
		BuildDefinition: &slsa.BuildDefinition{
			BuildType:            r.string(bd, "buildType"),
			ExternalParameters:   r.object(bd, "externalParameters"),
			InternalParameters:   r.object(bd, "internalParameters"),
			ResolvedDependencies: r.descriptors(bd, "resolvedDependencies"),
		},
		RunDetails: &slsa.RunDetails{Builder: &slsa.Builder{Id: r.string(r.object(rd, "builder"), "id")}},
	}
	if r.err != nil {
		return nil, fmt.Errorf("the predicate is not SLSA v1 provenance: %w", r.err)
	}
	if err := pred.Validate(); err != nil {
		return nil, fmt.Errorf("the predicate is not valid SLSA v1 provenance: %w", err)
	}
	return pred, nil
}

// structReader reads typed fields out of a decoded JSON object, keeping the first
// field of a wrong type as its error. An absent field reads as its zero value.
type structReader struct{ err error }

func (r *structReader) field(s *structpb.Struct, key string) *structpb.Value {
	if s == nil {
		return nil
	}
	v := s.GetFields()[key]
	if _, null := v.GetKind().(*structpb.Value_NullValue); null {
		return nil
	}
	return v
}

func (r *structReader) wrongType(key, want string) {
	if r.err == nil {
		r.err = fmt.Errorf("%s is not %s", key, want)
	}
}

func (r *structReader) string(s *structpb.Struct, key string) string {
	v := r.field(s, key)
	if v == nil {
		return ""
	}
	if _, ok := v.GetKind().(*structpb.Value_StringValue); !ok {
		r.wrongType(key, "a string")
	}
	return v.GetStringValue()
}

func (r *structReader) object(s *structpb.Struct, key string) *structpb.Struct {
	v := r.field(s, key)
	if v == nil {
		return nil
	}
	if _, ok := v.GetKind().(*structpb.Value_StructValue); !ok {
		r.wrongType(key, "an object")
	}
	return v.GetStructValue()
}

// descriptors reads a list of in-toto resource descriptors: the fields the checks
// use (name, uri, digest, annotations), and content, which can be a descriptor's only
// identification.
func (r *structReader) descriptors(s *structpb.Struct, key string) []*intoto.ResourceDescriptor {
	v := r.field(s, key)
	if v == nil {
		return nil
	}
	if _, ok := v.GetKind().(*structpb.Value_ListValue); !ok {
		r.wrongType(key, "a list")
		return nil
	}
	var out []*intoto.ResourceDescriptor
	for _, e := range v.GetListValue().GetValues() {
		d, ok := e.GetKind().(*structpb.Value_StructValue)
		if !ok {
			r.wrongType(key, "a list of objects")
			return nil
		}
		rd := &intoto.ResourceDescriptor{Name: r.string(d.StructValue, "name"), Uri: r.string(d.StructValue, "uri"),
			Annotations: r.object(d.StructValue, "annotations")}
		if c := r.string(d.StructValue, "content"); c != "" {
			b, err := base64.StdEncoding.DecodeString(c)
			if err != nil && r.err == nil {
				r.err = fmt.Errorf("content is not base64: %w", err)
			}
			rd.Content = b
		}
		if digest := r.object(d.StructValue, "digest"); digest != nil {
			rd.Digest = make(map[string]string, len(digest.GetFields()))
			for alg := range digest.GetFields() {
				rd.Digest[alg] = r.string(digest, alg)
			}
		}
		out = append(out, rd)
	}
	return out
}

func checkSubject(st *statement, digest string) result {
	var names []string
	for _, s := range st.GetSubject() {
		if strings.EqualFold(s.GetDigest()["sha256"], digest) {
			return pass(fmt.Sprintf("sha256:%s is subject %s", digest, quote(s.GetName())))
		}
		names = append(names, s.GetName())
	}
	return failf(ErrDigestMismatch, "sha256:%s is not among the %d subjects (%s)", digest, len(names), strings.Join(names, ", "))
}

func checkImage(deps []*intoto.ResourceDescriptor, allowed []string) result {
	var img *intoto.ResourceDescriptor
	for _, d := range deps {
		if d.GetName() == "builder-image" {
			img = d
			break
		}
	}
	got := "none"
	if img != nil {
		got = img.GetUri()
		if got == "" {
			got = "sha256:" + img.GetDigest()["sha256"]
		}
	}
	if len(allowed) == 0 {
		return skip("not required (" + got + ")")
	}
	if img != nil {
		h := strings.ToLower(img.GetDigest()["sha256"])
		if slices.ContainsFunc(allowed, func(a string) bool { d, _ := imageDigest(a); return h != "" && d == h }) {
			return pass(got)
		}
	}
	return failf(ErrPolicy, "%s is not in the allowed images", got)
}

// equal compares a policy value with the provenance's; an empty want is not required.
func equal(want, got string, required bool) result {
	switch {
	case !required:
		return skip("not required (" + quote(got) + ")")
	case want == got:
		return pass(got)
	default:
		return failf(ErrPolicy, "want %s, got %s", want, quote(got))
	}
}

func errFor(check string) error {
	if check == CheckBuilderID {
		return ErrUntrustedBuilder
	}
	return ErrPolicy
}

func str(s *structpb.Struct, key string) string { return s.GetFields()[key].GetStringValue() }

func quote(s string) string {
	if s == "" {
		return `""`
	}
	return s
}
