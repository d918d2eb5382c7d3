package verify

import (
	"errors"
	"strings"
	"testing"

	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/slsabox/slsabox/attest/spec"
)

func predicateOf(t *testing.T, buildType string, ext map[string]any, deps ...*intoto.ResourceDescriptor) *slsa.Provenance {
	t.Helper()
	s, err := structpb.NewStruct(ext)
	if err != nil {
		t.Fatal(err)
	}
	return &slsa.Provenance{BuildDefinition: &slsa.BuildDefinition{BuildType: buildType, ExternalParameters: s, ResolvedDependencies: deps}}
}

func TestSourceOf(t *testing.T) {
	const commit = "26d16513386ffaa790b1c32f927544f1322e4194"
	gitDep := &intoto.ResourceDescriptor{Uri: "git+https://github.com/o/r@refs/heads/main", Digest: map[string]string{"gitCommit": strings.ToUpper(commit)}}
	image := &intoto.ResourceDescriptor{Uri: "docker.io/library/golang@sha256:" + strings.Repeat("a", 64)}
	workflow := func(repo, ref string) map[string]any {
		return map[string]any{"workflow": map[string]any{"repository": repo, "ref": ref, "path": ".github/workflows/release.yml"}}
	}
	for _, c := range []struct {
		name string
		pred *slsa.Provenance
		want source
		err  bool
	}{
		{"slsabox", predicateOf(t, spec.BuildType, map[string]any{"source": map[string]any{"uri": "git+https://github.com/o/r", "ref": "refs/tags/v1"}}, gitDep),
			source{"git+https://github.com/o/r", "refs/tags/v1", commit, "externalParameters.source"}, false},
		{"GitHub", predicateOf(t, buildTypeGitHub, workflow("https://github.com/o/r", "refs/heads/main"), image, gitDep),
			source{"https://github.com/o/r", "refs/heads/main", commit, "externalParameters.workflow, commit from resolvedDependencies[1]"}, false},
		{"GitHub, workflow only", predicateOf(t, buildTypeGitHubSLSA, workflow("https://github.com/o/r", "refs/heads/main")),
			source{"https://github.com/o/r", "refs/heads/main", "", "externalParameters.workflow"}, false},
		{"GitHub, dependency only", predicateOf(t, buildTypeGitHub, map[string]any{}, gitDep),
			source{"git+https://github.com/o/r", "refs/heads/main", commit, "resolvedDependencies[0]"}, false},
		{"GitHub, two repositories", predicateOf(t, buildTypeGitHub, workflow("https://github.com/evil/fork", "refs/heads/main"), gitDep), source{}, true},
		{"GitHub, two refs", predicateOf(t, buildTypeGitHub, workflow("https://github.com/o/r", "refs/heads/evil"), gitDep), source{}, true},
		{"container-based", predicateOf(t, buildTypeContainerBased, map[string]any{"source": map[string]any{
			"uri": "git+https://github.com/o/r@refs/heads/main", "digest": map[string]any{"sha1": commit}}}),
			source{"git+https://github.com/o/r", "refs/heads/main", commit, "externalParameters.source"}, false},
		{"other build type", predicateOf(t, buildTypeDelegate, map[string]any{}, image, gitDep),
			source{"git+https://github.com/o/r", "refs/heads/main", commit, "resolvedDependencies[1]"}, false},
		{"other build type, the source twice", predicateOf(t, buildTypeDelegate, map[string]any{}, gitDep, image,
			&intoto.ResourceDescriptor{Uri: "git+https://github.com/O/R.git@refs/heads/main"}),
			source{"git+https://github.com/o/r", "refs/heads/main", commit, "resolvedDependencies[0]"}, false},
		// A task from another repository listed before or after the source: which
		// is the source cannot be told.
		{"other build type, two repositories", predicateOf(t, buildTypeDelegate, map[string]any{},
			&intoto.ResourceDescriptor{Uri: "git+https://github.com/tasks/lib@refs/heads/main"}, gitDep), source{}, true},
		{"other build type without git", predicateOf(t, "https://example.org/bt", map[string]any{}, image),
			source{where: "no git+ entry in resolvedDependencies"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := sourceOf(c.pred)
			if (err != nil) != c.err {
				t.Fatalf("err = %v, want error %v", err, c.err)
			}
			if !c.err && got != c.want {
				t.Errorf("sourceOf = %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestSameRepo(t *testing.T) {
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"git+https://github.com/o/r", "https://github.com/o/r", true},
		{"git+https://github.com/Owner/Repo", "https://GITHUB.com/owner/repo.git/", true},
		{"git+https://github.com/o/r", "https://github.com/o/r2", false},
		{"git+https://github.com/o/r", "https://github.com/o", false},
		{"git+https://github.com/o/r", "https://gitlab.com/o/r", false},
		{"git+https://github.com/o/r", "http://github.com/o/r", false},
		{"https://git.example.org/O/R", "https://GIT.example.org/O/R", true},
		{"https://git.example.org/O/R", "https://git.example.org/o/r", false}, // only GitHub's paths fold case
		{"https://github.com/o/r", "https://evil@github.com/o/r", false},
		{"", "", false},
	} {
		if got := sameRepo(c.a, c.b); got != c.same {
			t.Errorf("sameRepo(%q, %q) = %v, want %v", c.a, c.b, got, c.same)
		}
	}
}

func TestSplitGitURI(t *testing.T) {
	for _, c := range []struct{ in, repo, ref string }{
		{"git+https://github.com/o/r@refs/heads/main", "git+https://github.com/o/r", "refs/heads/main"},
		{"git+https://github.com/o/r", "git+https://github.com/o/r", ""},
		{"git+ssh://git@example.org/o/r@refs/tags/v1", "git+ssh://git@example.org/o/r", "refs/tags/v1"},
		{"https://github.com/o/r@x", "https://github.com/o/r@x", ""},
	} {
		if repo, ref := splitGitURI(c.in); repo != c.repo || ref != c.ref {
			t.Errorf("splitGitURI(%q) = %q, %q; want %q, %q", c.in, repo, ref, c.repo, c.ref)
		}
	}
}

func TestParseDigest(t *testing.T) {
	h256, h384, h512 := strings.Repeat("a", 64), strings.Repeat("B", 96), strings.Repeat("c", 128)
	for _, c := range []struct {
		in, alg, hex, norm string
	}{
		{h256, "sha256", h256, h256},
		{"sha256:" + h256, "sha256", h256, h256},
		{"sha384:" + h384, "sha384", strings.ToLower(h384), "sha384:" + strings.ToLower(h384)},
		{"sha512:" + h512, "sha512", h512, "sha512:" + h512},
		{"SHA512:" + h512, "sha512", h512, "sha512:" + h512},
	} {
		alg, h, err := ParseDigest(c.in)
		if err != nil || alg != c.alg || h != c.hex {
			t.Errorf("ParseDigest(%q) = %q, %q, %v", c.in, alg, h, err)
		}
		if n, err := normalizeDigest(c.in); err != nil || n != c.norm {
			t.Errorf("normalizeDigest(%q) = %q, %v; want %q", c.in, n, err, c.norm)
		}
	}
	for in, hint := range map[string]string{
		"":                                  "no artifact digest",
		h512:                                "give another algorithm's digest as ALG:HEX",
		"sha512:" + h256:                    "is not a sha512 (128 hex digits)",
		"sha256:" + h512:                    "is not a sha256",
		"md5:" + h256[:32]:                  "give sha256:HEX, sha384:HEX or sha512:HEX",
		"sha256:" + strings.Repeat("g", 64): "is not a sha256",
	} {
		_, _, err := ParseDigest(in)
		if !errors.Is(err, ErrInvalidPolicy) || !strings.Contains(err.Error(), hint) {
			t.Errorf("ParseDigest(%q) = %v, want ErrInvalidPolicy saying %q", in, err, hint)
		}
	}
}
