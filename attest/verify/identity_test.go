package verify

import (
	"errors"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"

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
			_, _, err := tt.id.validate()
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidPolicy) {
				t.Errorf("err = %v, not ErrInvalidPolicy", err)
			}
		})
	}
}

// TestIdentityNeedsTrust: keyless verification needs a trusted root with a CA, and
// does not mix with a public key.
func TestIdentityNeedsTrust(t *testing.T) {
	id := Identity{SubjectAlternativeName: ghSAN, Issuer: ghIssuer}
	k := newKey(t)
	for _, tt := range []struct {
		name string
		opts []Option
	}{
		{"no trusted root", []Option{WithIdentity(id)}},
		{"a key too", []Option{WithIdentity(id), WithPublicKey(k.pub), WithoutTransparencyLogUnsafe()}},
		{"root without a CA", []Option{WithIdentity(id), WithTrustedRoot(&root.TrustedRoot{})}},
		{"invalid identity", []Option{WithIdentity(Identity{Issuer: ghIssuer})}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.opts...); !errors.Is(err, ErrTrustMaterial) {
				t.Errorf("err = %v, want ErrTrustMaterial", err)
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
			if !tt.ok && (!errors.Is(r.err, ErrIdentity) || !strings.Contains(r.detail, tt.want)) {
				t.Errorf("err = %v, want ErrIdentity naming %q", r.err, tt.want)
			}
		})
	}
}

// TestCrossCheck: the certificate's repository, commit and ref must be the provenance's.
func TestCrossCheck(t *testing.T) {
	st, err := attest.Provenance(testResult(), attest.ProvenanceOptions{BuilderID: testBuilder, SourceURI: testSource, SourceRef: "refs/heads/main"})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := attest.MarshalStatement(st)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		edit func(*certificate.Extensions)
		ok   bool
	}{
		{"same", nil, true},
		{"same, other spelling", func(e *certificate.Extensions) { e.SourceRepositoryURI = "https://GitHub.com/slsabox/slsabox.git/" }, true},
		{"another repository", func(e *certificate.Extensions) { e.SourceRepositoryURI = "https://github.com/evil/slsabox" }, false},
		{"another commit", func(e *certificate.Extensions) { e.SourceRepositoryDigest = strings.Repeat("e", 40) }, false},
		{"no commit", func(e *certificate.Extensions) { e.SourceRepositoryDigest = "" }, false},
		{"another ref", func(e *certificate.Extensions) { e.SourceRepositoryRef = "refs/heads/evil" }, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ext := ghSummary().Extensions
			if tt.edit != nil {
				tt.edit(&ext)
			}
			r := crossCheck(ext, st, payload)
			if r.ok != tt.ok || (!tt.ok && !errors.Is(r.err, ErrIdentity)) {
				t.Errorf("ok = %v, err = %v (%s), want ok=%v", r.ok, r.err, r.detail, tt.ok)
			}
		})
	}
	// A certificate that names no repository (an e-mail identity) cannot be compared.
	if r := crossCheck(certificate.Extensions{Issuer: "https://accounts.google.com"}, st, payload); !r.skipped {
		t.Errorf("no repository: %+v, want skipped", r)
	}
}
