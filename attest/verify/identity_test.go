package verify

import (
	"errors"
	"strings"
	"testing"

	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/slsabox/slsabox/attest"
)

const ghIssuer = "https://token.actions.githubusercontent.com"

var ghSAN = "https://github.com/slsabox/slsabox/.github/workflows/release.yml@refs/heads/main"

// ghSummary is what Fulcio puts in a GitHub Actions certificate for testResult's build.
func ghSummary() certificate.Summary {
	return certificate.Summary{SubjectAlternativeName: ghSAN, Extensions: certificate.Extensions{
		Issuer: ghIssuer, SourceRepositoryURI: "https://github.com/slsabox/slsabox", SourceRepositoryDigest: testCommit,
		SourceRepositoryRef: "refs/heads/main", BuildConfigURI: ghSAN, RunnerEnvironment: RunnerGitHubHosted,
	}}
}

func TestIdentityValidate(t *testing.T) {
	for _, tt := range []struct {
		name string
		id   Identity
		ok   bool
	}{
		{"san and issuer", Identity{SubjectAlternativeName: ghSAN, Issuer: ghIssuer}, true},
		{"regexp", Identity{SubjectAlternativeNameRegexp: `https://github\.com/slsabox/.*`, Issuer: ghIssuer}, true},
		{"no san", Identity{Issuer: ghIssuer}, false},
		{"no issuer", Identity{SubjectAlternativeName: ghSAN}, false},
		{"both san and regexp", Identity{SubjectAlternativeName: ghSAN, SubjectAlternativeNameRegexp: ".*", Issuer: ghIssuer}, false},
		{"bad regexp", Identity{SubjectAlternativeNameRegexp: "(", Issuer: ghIssuer}, false},
		{"bad runner", Identity{SubjectAlternativeName: ghSAN, Issuer: ghIssuer, RunnerEnvironment: "laptop"}, false},
		{"self-hosted required and refused", Identity{SubjectAlternativeName: ghSAN, Issuer: ghIssuer, RunnerEnvironment: RunnerSelfHosted, RefuseSelfHostedRunner: true}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.id.matcher()
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidPolicy) {
				t.Errorf("err = %v, not ErrInvalidPolicy", err)
			}
		})
	}
}

// TestTrustOptions: each option rejects a bad value and a conflict, and New wants a
// key or a trusted root with a CA (keyless), with a log unless opted out.
func TestTrustOptions(t *testing.T) {
	k := newKey(t)
	for _, tt := range []struct {
		name string
		opts []Option
	}{
		{"nothing", nil},
		{"root without a CA or a key", []Option{WithTrustedRoot(&root.TrustedRoot{}), WithoutTransparencyLogUnsafe()}},
		{"nil root", []Option{WithTrustedRoot(nil)}},
		{"two roots", []Option{WithPublicKey(k.pub), WithPublicGoodTrustedRoot(), WithTrustedRoot(&root.TrustedRoot{})}},
		{"root file missing", []Option{WithPublicKey(k.pub), WithTrustedRootFile("testdata/none.json")}},
		{"two keys", []Option{WithPublicKey(k.pub), WithPublicKey(k.pub), WithoutTransparencyLogUnsafe()}},
		{"not a key", []Option{WithPublicKey([]byte("hello")), WithoutTransparencyLogUnsafe()}},
		{"a key, no root", []Option{WithPublicKey(k.pub)}},
		{"a key, a root without a log", []Option{WithPublicKey(k.pub), WithTrustedRoot(&root.TrustedRoot{})}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts...)
			if !errors.Is(err, ErrTrustMaterial) || !errors.Is(err, ErrConfiguration) || errors.Is(err, ErrNotVerified) {
				t.Errorf("err = %v, want ErrTrustMaterial, a configuration error", err)
			}
		})
	}
}

func TestIdentityCheck(t *testing.T) {
	for _, tt := range []struct {
		name string
		id   Identity
		edit func(*certificate.Summary)
		ok   bool
		want string
	}{
		{"all claims match", Identity{SubjectAlternativeName: ghSAN, Issuer: ghIssuer, SourceRepositoryURI: "https://github.com/slsabox/slsabox",
			SourceRepositoryRef: "refs/heads/main", SourceRepositoryDigest: strings.ToUpper(testCommit), WorkflowRef: ghSAN,
			RunnerEnvironment: RunnerGitHubHosted, RefuseSelfHostedRunner: true}, nil, true, ""},
		{"another repository", Identity{SourceRepositoryURI: "https://github.com/evil/fork"}, nil, false, "source repository"},
		{"another ref", Identity{SourceRepositoryRef: "refs/tags/v1"}, nil, false, "source ref"},
		{"another commit", Identity{SourceRepositoryDigest: strings.Repeat("e", 40)}, nil, false, "source digest"},
		{"another workflow", Identity{WorkflowRef: strings.Replace(ghSAN, "release", "ci", 1)}, nil, false, "workflow ref"},
		{"self-hosted refused", Identity{RefuseSelfHostedRunner: true},
			func(s *certificate.Summary) { s.Extensions.RunnerEnvironment = RunnerSelfHosted }, false, "self-hosted runners are refused"},
		{"no runner claim refused", Identity{RefuseSelfHostedRunner: true},
			func(s *certificate.Summary) { s.Extensions.RunnerEnvironment = "" }, false, "self-hosted runners are refused"},
		{"self-hosted accepted when not refused", Identity{},
			func(s *certificate.Summary) { s.Extensions.RunnerEnvironment = RunnerSelfHosted }, true, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sum := ghSummary()
			if tt.edit != nil {
				tt.edit(&sum)
			}
			r := tt.id.check(&sum)
			if r.ok != tt.ok {
				t.Fatalf("ok = %v (%s), want %v", r.ok, r.detail, tt.ok)
			}
			if !tt.ok && (!errors.Is(r.class, ErrIdentity) || !strings.Contains(r.detail, tt.want)) {
				t.Errorf("err = %v, want ErrIdentity naming %q", r.err, tt.want)
			}
		})
	}
}

// TestCrossCheck: the certificate's repository, commit and ref must be the
// provenance's, and a slsabox provenance's builder id the certificate's identity.
func TestCrossCheck(t *testing.T) {
	statement := func(builderID string) *statement {
		st, err := attest.Provenance(testResult(), builderID)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	st := statement(ghSAN)
	for _, tt := range []struct {
		name string
		edit func(*certificate.Summary)
		ok   bool
	}{
		{"same", nil, true},
		{"same, other spelling", func(s *certificate.Summary) {
			s.Extensions.SourceRepositoryURI = "https://GitHub.com/slsabox/slsabox.git/"
		}, true},
		{"another repository", func(s *certificate.Summary) { s.Extensions.SourceRepositoryURI = "https://github.com/evil/slsabox" }, false},
		{"another commit", func(s *certificate.Summary) { s.Extensions.SourceRepositoryDigest = strings.Repeat("e", 40) }, false},
		{"no commit", func(s *certificate.Summary) { s.Extensions.SourceRepositoryDigest = "" }, false},
		{"another ref", func(s *certificate.Summary) { s.Extensions.SourceRepositoryRef = "refs/heads/evil" }, false},
		// Another workflow of the same repository (any branch) claiming the release
		// workflow's builder id.
		{"another workflow", func(s *certificate.Summary) {
			s.SubjectAlternativeName = "https://github.com/slsabox/slsabox/.github/workflows/pr.yml@refs/heads/feature"
		}, false},
		{"build signer uri", func(s *certificate.Summary) {
			s.SubjectAlternativeName, s.Extensions.BuildSignerURI = "https://github.com/other/reusable/.github/workflows/x.yml@v1", ghSAN
		}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sum := ghSummary()
			if tt.edit != nil {
				tt.edit(&sum)
			}
			r := crossCheck(&sum, st)
			if r.ok != tt.ok || (!tt.ok && !errors.Is(r.class, ErrIdentity)) {
				t.Errorf("ok = %v, err = %v (%s), want ok=%v", r.ok, r.err, r.detail, tt.ok)
			}
		})
	}
	// A provenance whose builder id is not the certificate's identity.
	other := statement("https://github.com/slsabox/slsabox/.github/workflows/release.yml@refs/tags/v9")
	sum := ghSummary()
	if r := crossCheck(&sum, other); r.ok || !strings.Contains(r.detail, "builder id") {
		t.Errorf("another builder id: %+v", r)
	}
	// A certificate that names no repository (an e-mail identity) cannot be compared
	// for the source, but a slsabox provenance's builder must still be its identity.
	mail := &certificate.Summary{SubjectAlternativeName: "dev@example.org", Extensions: certificate.Extensions{Issuer: "https://accounts.google.com"}}
	if r := crossCheck(mail, st); r.ok {
		t.Errorf("e-mail identity, builder id %s: %+v, want a failure", ghSAN, r)
	}
	byMail := statement("dev@example.org")
	if r := crossCheck(mail, byMail); !r.ok {
		t.Errorf("e-mail identity as builder id: %+v", r)
	}
	// Other builders' provenance keeps its own builder id (GitHub names the runner).
	gh, err := attest.Provenance(testResult(), "https://github.com/actions/runner/github-hosted")
	if err != nil {
		t.Fatal(err)
	}
	gh.GetPredicate().GetFields()["buildDefinition"].GetStructValue().GetFields()["buildType"] = structpb.NewStringValue("https://actions.github.io/buildtypes/workflow/v1")
	if r := crossCheck(&sum, gh); !r.ok || r.skipped {
		t.Errorf("GitHub's build type with the runner as builder id: %+v", r)
	}
	if r := crossCheck(mail, gh); r.ok {
		t.Errorf("GitHub's build type, an e-mail certificate: %+v, want a failure (nothing proves the runner)", r)
	}
	// GitHub's provenance is written in the job that signs it: a builder id the
	// certificate does not prove is refused.
	asGitHub := func(builderID string) *intoto.Statement {
		st := statement(builderID)
		st.GetPredicate().GetFields()["buildDefinition"].GetStructValue().GetFields()["buildType"] = structpb.NewStringValue("https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1")
		return st
	}
	selfHosted := ghSummary()
	selfHosted.Extensions.RunnerEnvironment = RunnerSelfHosted
	for _, tt := range []struct {
		name      string
		builderID string
		sum       certificate.Summary
		ok        bool
	}{
		{"runner as the certificate says", "https://github.com/actions/runner/github-hosted", ghSummary(), true},
		{"the job's workflow", ghSAN, ghSummary(), true},
		{"a self-hosted runner claiming github-hosted", "https://github.com/actions/runner/github-hosted", selfHosted, false},
		{"a runner of another server", "https://evil.example/actions/runner/github-hosted", ghSummary(), false},
		{"any other builder id", "https://slsa-builder.example/trusted", ghSummary(), false},
	} {
		if r := crossCheck(&tt.sum, asGitHub(tt.builderID)); r.ok != tt.ok || (!tt.ok && !strings.Contains(r.detail, "builder id")) {
			t.Errorf("GitHub build type, %s: %+v, want ok=%v", tt.name, r, tt.ok)
		}
	}
}
