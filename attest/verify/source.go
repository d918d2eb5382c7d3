package verify

import (
	"fmt"
	"net/url"
	"strings"

	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	intoto "github.com/in-toto/attestation/go/v1"

	"github.com/slsabox/slsabox/attest/spec"
)

// Build types whose source is read from their own fields; any other build type's
// source is the git+ entry of resolvedDependencies, when they name one repository
// (several are refused: which is the source cannot be told) (slsa-github-generator's
// delegator-generic@v0 and delegator-lowperms-generic@v0, the BYOB builders, among
// them: they record nothing else). slsa-github-generator's generic@v1, go@v1 and
// container@v1 write SLSA v0.2 provenance, which slsabox does not read.
const (
	// buildTypeGitHub and buildTypeGitHubSLSA are GitHub's workflow build type (artifact
	// attestations, npm provenance): externalParameters.workflow {ref, repository, path}.
	buildTypeGitHub     = "https://actions.github.io/buildtypes/workflow/v1"
	buildTypeGitHubSLSA = "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1"
	// buildTypeContainerBased is slsa-github-generator's container-based builder:
	// externalParameters.source is a resource descriptor, git+URI@REF with the commit.
	buildTypeContainerBased = "https://slsa.dev/container-based-build/v0.1?draft"
)

// source is the repository, ref and commit a provenance says it built, and where in
// the provenance they were read (for the report).
type source struct {
	uri, ref, commit string
	where            string
}

// sourceOf reads the provenance's source as its build type records it. Where a build
// type records the source twice (GitHub's workflow and its git dependency), the two
// must agree: a provenance that says two things is refused rather than read either
// way.
func sourceOf(pred *slsa.Provenance) (source, error) {
	def := pred.GetBuildDefinition()
	ext := def.GetExternalParameters().GetFields()
	deps := def.GetResolvedDependencies()
	switch def.GetBuildType() {
	case spec.BuildType:
		s := ext["source"].GetStructValue()
		src := source{uri: str(s, "uri"), ref: str(s, "ref"), where: "externalParameters.source"}
		if len(deps) > 0 {
			src.commit = strings.ToLower(deps[0].GetDigest()["gitCommit"])
		}
		return src, nil
	case buildTypeGitHub, buildTypeGitHubSLSA:
		wf := ext["workflow"].GetStructValue()
		src := source{uri: str(wf, "repository"), ref: str(wf, "ref"), where: "externalParameters.workflow"}
		dep, i := gitDependency(pred)
		if i < 0 {
			return src, nil
		}
		depURI, depRef := splitGitURI(dep.GetUri())
		switch {
		case src.uri == "":
			src.uri, src.where = depURI, fmt.Sprintf("resolvedDependencies[%d]", i)
		case !sameRepo(src.uri, depURI):
			return src, fmt.Errorf("the provenance names two sources: %s in externalParameters.workflow, %s in resolvedDependencies[%d]", src.uri, depURI, i)
		}
		switch {
		case src.ref == "":
			src.ref = depRef
		case depRef != "" && depRef != src.ref:
			return src, fmt.Errorf("the provenance names two source refs: %s in externalParameters.workflow, %s in resolvedDependencies[%d]", src.ref, depRef, i)
		}
		src.commit = strings.ToLower(dep.GetDigest()["gitCommit"])
		if src.where == "externalParameters.workflow" {
			src.where += fmt.Sprintf(", commit from resolvedDependencies[%d]", i)
		}
		return src, nil
	case buildTypeContainerBased:
		s := ext["source"].GetStructValue()
		src := source{where: "externalParameters.source"}
		src.uri, src.ref = splitGitURI(str(s, "uri"))
		d := s.GetFields()["digest"].GetStructValue()
		src.commit = strings.ToLower(str(d, "gitCommit"))
		if src.commit == "" {
			src.commit = strings.ToLower(str(d, "sha1"))
		}
		return src, nil
	}
	dep, i := gitDependency(pred)
	if i < 0 {
		return source{where: "no git+ entry in resolvedDependencies"}, nil
	}
	src := source{commit: strings.ToLower(dep.GetDigest()["gitCommit"]), where: fmt.Sprintf("resolvedDependencies[%d]", i)}
	src.uri, src.ref = splitGitURI(dep.GetUri())
	// A build type slsabox does not know may list other git repositories (a
	// pipeline's tasks, a submodule) beside the source, in any order: which one was
	// built cannot be told, and guessing would let a dependency pass as the source.
	for j, d := range deps[i+1:] {
		if other, _ := splitGitURI(d.GetUri()); strings.HasPrefix(d.GetUri(), "git+") && !sameRepo(other, src.uri) {
			return src, fmt.Errorf("build type %s records several git repositories in resolvedDependencies (%s at [%d], %s at [%d]): which one is the source cannot be told for a build type slsabox does not know",
				quote(def.GetBuildType()), src.uri, i, other, i+1+j)
		}
	}
	if src.commit == "" {
		src.commit = strings.ToLower(dep.GetDigest()["sha1"])
	}
	return src, nil
}

// gitDependency returns the first resolved dependency whose URI is git+ and its index,
// or -1.
func gitDependency(pred *slsa.Provenance) (*intoto.ResourceDescriptor, int) {
	for i, d := range pred.GetBuildDefinition().GetResolvedDependencies() {
		if strings.HasPrefix(d.GetUri(), "git+") {
			return d, i
		}
	}
	return nil, -1
}

// splitGitURI splits git+https://HOST/OWNER/REPO@REF into the repository and the ref.
// The @ is looked for in the path only, so that a user@ in the authority stays.
func splitGitURI(u string) (repo, ref string) {
	scheme := strings.Index(u, "://")
	if !strings.HasPrefix(u, "git+") || scheme < 0 {
		return u, ""
	}
	path := strings.IndexByte(u[scheme+3:], '/')
	if path < 0 {
		return u, ""
	}
	path += scheme + 3
	if at := strings.IndexByte(u[path:], '@'); at >= 0 {
		return u[:path+at], u[path+at+1:]
	}
	return u, ""
}

// sameRepo says whether two repository URIs name the same repository: without git+
// (a transport hint), a final slash or .git, with the scheme and host in any case, and
// for github.com the owner and repository in any case too, as GitHub resolves them.
// Other hosts' paths compare exactly: whether they fold case is theirs to say.
func sameRepo(a, b string) bool {
	ka, kb := repoKey(a), repoKey(b)
	return ka != "" && ka == kb
}

func repoKey(s string) string {
	s = strings.TrimPrefix(strings.TrimSpace(s), "git+")
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return s
	}
	host := strings.ToLower(u.Host)
	path := strings.TrimSuffix(strings.TrimSuffix(u.EscapedPath(), "/"), ".git")
	if host == "github.com" {
		path = strings.ToLower(path)
	}
	return strings.ToLower(u.Scheme) + "://" + host + path
}
