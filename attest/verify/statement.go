package verify

import (
	"fmt"
	"slices"
	"strings"

	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/slsabox/slsabox/attest/spec"
)

type statement = intoto.Statement

// checkStatement runs the policy checks on a statement whose signature verified.
func checkStatement(st *statement, p Policy, results map[string]result, r *Report) {
	pred, err := provenance(st)
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
	src, srcErr := sourceOf(pred)
	switch {
	case p.AllowAnySourceUnsafe:
		results[CheckSourceURI] = skip("any source accepted (unsafe opt-out); provenance says " + quote(src.uri))
	case srcErr != nil:
		results[CheckSourceURI] = fail(ErrPolicy, srcErr)
	case buildType == spec.BuildType:
		results[CheckSourceURI] = equal(p.SourceURI, src.uri, true)
	case sameRepo(p.SourceURI, src.uri):
		results[CheckSourceURI] = pass(src.uri + " (from " + src.where + ")")
	default:
		results[CheckSourceURI] = failf(ErrPolicy, "want %s, got %s (from %s)", p.SourceURI, quote(src.uri), src.where)
	}
	results[CheckSourceRef] = equal(p.SourceRef, src.ref, p.SourceRef != "")
	if ext.GetFields()["noTlog"].GetBoolValue() {
		r.Warnings = append(r.Warnings, "built with --no-tlog: the builder was told not to log this provenance to a transparency log")
	}

	deps := pred.GetBuildDefinition().GetResolvedDependencies()
	commit := src.commit
	dirty := false
	if len(deps) > 0 {
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
