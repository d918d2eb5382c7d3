package verify

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// publicCase is a real bundle from a public repository's test data (see
// testdata/public/README.md), with the policy its publisher's consumers would write.
type publicCase struct {
	name, bundle, artifact string
	policy                 Policy
	source                 string // what the source uri check's detail must name
}

const (
	ghRunner          = "https://github.com/actions/runner/github-hosted"
	buildTypeDelegate = "https://github.com/slsa-framework/slsa-github-generator/delegator-generic@v0"
)

func publicCases() []publicCase {
	npm := Policy{
		BuilderID: ghRunner, BuildType: buildTypeGitHubSLSA,
		SourceURI: "git+https://github.com/sigstore/sigstore-js", SourceRef: "refs/heads/main",
		SourceCommit: "26d16513386ffaa790b1c32f927544f1322e4194",
		CertificateIdentity: &Identity{
			SubjectAlternativeName: "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main",
			Issuer:                 ghIssuer, SourceRepositoryURI: "https://github.com/sigstore/sigstore-js", RefuseSelfHostedRunner: true,
		},
	}
	return []publicCase{
		{"npm provenance (bundle v0.3)", "sigstore-js-2.1.0-bundle.json", "sigstore-js-2.1.0.tgz", npm, "externalParameters.workflow"},
		{"npm provenance (bundle v0.1)", "sigstore-js-2.1.0-bundle-v0.1.json", "sigstore-js-2.1.0.tgz", npm, "externalParameters.workflow"},
		{"GitHub artifact attestation by a reusable workflow", "reusable-workflow-attestation.sigstore.json", "reusable-workflow-artifact", Policy{
			BuilderID: ghRunner, BuildType: buildTypeGitHubSLSA,
			SourceURI: "git+https://github.com/malancas/attest-demo", SourceRef: "refs/heads/main",
			SourceCommit: "95baf27389e83e6a5c48f42e190d48d7abcea19e",
			CertificateIdentity: &Identity{
				// The SAN names the reusable workflow; the caller is in the extensions.
				SubjectAlternativeName: "https://github.com/github/artifact-attestations-workflows/.github/workflows/attest.yml@09b495c3f12c7881b3cc17209a327792065c1a1d",
				Issuer:                 ghIssuer, SourceRepositoryURI: "https://github.com/malancas/attest-demo",
				WorkflowRef: "https://github.com/malancas/attest-demo/.github/workflows/shared.yml@refs/heads/main",
			},
		}, "externalParameters.workflow"},
		{"slsa-github-generator delegator (BYOB, bundle v0.2)", "delegator-generic-v2.1.0.build.slsa", "delegator-generic-v2.1.0-artifact", Policy{
			BuilderID: "https://github.com/slsa-framework/example-trw/.github/workflows/builder_high-perms_slsa3.yml@refs/tags/v2.1.0",
			BuildType: buildTypeDelegate,
			SourceURI: "git+https://github.com/slsa-framework/example-package", SourceRef: "refs/heads/main",
			SourceCommit: "4d329c75e7ec1725f7c9ce917a8799d408d06be3",
			CertificateIdentity: &Identity{
				SubjectAlternativeNameRegexp: `https://github\.com/slsa-framework/slsa-github-generator/\.github/workflows/delegator_generic_slsa3\.yml@refs/tags/v[0-9.]+`,
				Issuer:                       ghIssuer, SourceRepositoryURI: "https://github.com/slsa-framework/example-package",
			},
		}, "resolvedDependencies[0]"},
		{"slsa-github-generator container-based builder (bundle v0.2)", "container-based-v2.1.0.build.slsa", "container-based-v2.1.0-artifact", Policy{
			BuilderID: "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/builder_container-based_slsa3.yml@refs/tags/v2.1.0",
			BuildType: buildTypeContainerBased,
			SourceURI: "git+https://github.com/slsa-framework/example-package", SourceRef: "refs/heads/main",
			SourceCommit: "4d329c75e7ec1725f7c9ce917a8799d408d06be3",
			CertificateIdentity: &Identity{
				SubjectAlternativeName: "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/builder_container-based_slsa3.yml@refs/tags/v2.1.0",
				Issuer:                 ghIssuer, SourceRepositoryURI: "https://github.com/slsa-framework/example-package",
			},
		}, "externalParameters.source"},
	}
}

func publicVerifier(t *testing.T) *Verifier {
	t.Helper()
	v, err := New(WithPublicGoodTrustedRoot())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func readPublic(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "public", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestPublicBundles verifies real bundles of other builders, signed keylessly through
// Sigstore's public-good instance and logged to its Rekor v1, with the embedded root:
// by identity, source repository, ref and commit, and the artifact by the digest its
// subject is named by (sha512 for the npm package).
func TestPublicBundles(t *testing.T) {
	v := publicVerifier(t)
	for _, c := range publicCases() {
		t.Run(c.name, func(t *testing.T) {
			b := parse(t, readPublic(t, c.bundle))
			digest, err := FileDigestFor(filepath.Join("testdata", "public", c.artifact), b)
			if err != nil {
				t.Fatal(err)
			}
			p := c.policy
			p.Digest = digest
			r, err := v.Verify(b, p)
			if err != nil {
				t.Fatalf("%v\n%+v", err, r.Checks)
			}
			if c.artifact == "sigstore-js-2.1.0.tgz" && !strings.HasPrefix(r.Digest, "sha512:") {
				t.Errorf("report digest %s, want the sha512 the subject is named by", r.Digest)
			}
			for name, want := range map[string]string{
				CheckSourceURI:     "(from " + c.source,
				CheckSubjectDigest: "is subject",
				CheckCertSource:    strings.TrimPrefix(c.policy.SourceURI, "git+") + " at " + c.policy.SourceCommit,
				CheckTlog:          "rekor.sigstore.dev",
			} {
				if got, _ := r.Check(name); !got.OK || got.Skipped || !strings.Contains(got.Detail, want) {
					t.Errorf("%s: %+v, want a pass naming %q", name, got, want)
				}
			}
			// GitHub's owner and repository names fold case, as GitHub resolves them.
			p.SourceURI = "https://GitHub.com/" + strings.ToUpper(strings.TrimPrefix(p.SourceURI, "git+https://github.com/")) + ".git"
			if _, err := v.Verify(b, p); err != nil {
				t.Errorf("source uri %s (another case): %v", p.SourceURI, err)
			}
		})
	}
}

// TestPublicBundlesRefused checks that each real bundle is refused for another
// repository, another workflow identity, another ref and another artifact.
func TestPublicBundlesRefused(t *testing.T) {
	v := publicVerifier(t)
	for _, c := range publicCases() {
		b := parse(t, readPublic(t, c.bundle))
		good, err := FileDigestFor(filepath.Join("testdata", "public", c.artifact), b)
		if err != nil {
			t.Fatal(err)
		}
		other := "reusable-workflow-artifact"
		if c.artifact == other {
			other = "sigstore-js-2.1.0.tgz"
		}
		otherDigest, err := FileDigestFor(filepath.Join("testdata", "public", other), b)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name  string
			edit  func(*Policy)
			check string
			class error
		}{
			{"another repository", func(p *Policy) { p.SourceURI = "git+https://github.com/evil/fork" }, CheckSourceURI, ErrPolicy},
			{"a repository of another host", func(p *Policy) { p.SourceURI = strings.Replace(p.SourceURI, "github.com", "gitlab.com", 1) }, CheckSourceURI, ErrPolicy},
			{"another ref", func(p *Policy) { p.SourceRef = "refs/tags/v9.9.9" }, CheckSourceRef, ErrPolicy},
			{"another commit", func(p *Policy) { p.SourceCommit = strings.Repeat("0", 40) }, CheckSourceCommit, ErrPolicy},
			{"another workflow", func(p *Policy) {
				id := *p.CertificateIdentity
				id.SubjectAlternativeName, id.SubjectAlternativeNameRegexp = "https://github.com/evil/fork/.github/workflows/release.yml@refs/heads/main", ""
				p.CertificateIdentity = &id
			}, CheckCertIdentity, ErrIdentity},
			{"another caller repository", func(p *Policy) {
				id := *p.CertificateIdentity
				id.SourceRepositoryURI = "https://github.com/evil/fork"
				p.CertificateIdentity = &id
			}, CheckCertIdentity, ErrIdentity},
			{"another builder", func(p *Policy) { p.BuilderID = "https://github.com/actions/runner/self-hosted" }, CheckBuilderID, ErrUntrustedBuilder},
			{"another build type", func(p *Policy) { p.BuildType = "" }, CheckBuildType, ErrPolicy},
			{"another artifact", func(p *Policy) { p.Digest = otherDigest }, CheckSubjectDigest, ErrDigestMismatch},
		} {
			t.Run(c.name+"/"+tc.name, func(t *testing.T) {
				p := c.policy
				p.Digest = good
				tc.edit(&p)
				r, err := v.Verify(b, p)
				if !errors.Is(err, tc.class) {
					t.Fatalf("err = %v, want %v", err, tc.class)
				}
				if got, _ := r.Check(tc.check); got.OK {
					t.Errorf("%s passed: %+v", tc.check, got)
				}
			})
		}
	}
}

// TestPublicDataPinned checks every vendored file against the sha256 its README row
// pins, so that a changed file is noticed rather than trusted.
func TestPublicDataPinned(t *testing.T) {
	readme := string(readPublic(t, "README.md"))
	entries, err := os.ReadDir(filepath.Join("testdata", "public"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == "README.md" {
			continue
		}
		sum := sha256.Sum256(readPublic(t, e.Name()))
		row := "| " + e.Name() + " | "
		i := strings.Index(readme, row)
		if i < 0 || !strings.Contains(strings.SplitN(readme[i:], "\n", 2)[0], "| "+hex.EncodeToString(sum[:])+" |") {
			t.Errorf("%s: sha256 %x is not the one its README row pins", e.Name(), sum)
		}
	}
}
