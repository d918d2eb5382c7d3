package verify

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	intoto "github.com/in-toto/attestation/go/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"google.golang.org/protobuf/types/known/structpb"
	"gopkg.in/yaml.v3"

	"github.com/slsabox/slsabox/attest"
)

const (
	testBuilder = "https://slsabox.dev/builders/test/v1"
	testSource  = "git+https://github.com/slsabox/slsabox"
	testCommit  = "cccccccccccccccccccccccccccccccccccccccc"
)

var (
	helloDigest = strings.Repeat("1", 64)
	otherDigest = strings.Repeat("2", 64) // another subject of the same build
	testImage   = "sha256:" + strings.Repeat("a", 64)
)

// testResult is a complete build description, as attest's tests use.
func testResult() *attest.Build {
	t0 := time.Date(2026, 11, 22, 1, 2, 3, 0, time.UTC)
	return &attest.Build{
		Definition: attest.Definition{Path: "examples/hello-go/slsabox.yaml", SHA256: strings.Repeat("d", 64), Content: "version: 1\n"},
		Source: attest.Source{URI: testSource, Path: "examples/hello-go", Commit: testCommit,
			Ref: "refs/heads/main"},
		Image: attest.Image{Ref: "docker.io/library/golang:1.26@" + testImage,
			Digest: testImage, ManifestDigest: testImage,
			ConfigDigest: "sha256:" + strings.Repeat("b", 64), Platform: "linux/amd64"},
		Subjects: []attest.Subject{{Name: "hello", SHA256: helloDigest},
			{Name: "sub/hello.tar.gz", SHA256: otherDigest}},
		Limits:     attest.Limits{MemoryBytes: 2 << 30, Pids: 1024, Timeout: "20m0s", OutputSizeBytes: 4 << 30},
		Sandbox:    attest.Sandbox{UID: 48213, GID: 48213, Network: "none", RootFS: "read-only", Capabilities: "none", NoNewPrivs: true, Seccomp: "containerd-default-native"},
		Runtime:    attest.Runtime{Containerd: "1.6.20", Runc: "1.1.5", Snapshotter: "overlayfs", Namespace: "slsabox"},
		StartedOn:  t0,
		FinishedOn: t0.Add(90 * time.Second),
		LogSHA256:  strings.Repeat("f", 64),
	}
}

type testKey struct {
	signer attest.Signer
	pub    []byte
}

func newKey(t testing.TB) testKey {
	t.Helper()
	privPEM, pubPEM, err := attest.GenerateKey(attest.ECDSAP256, nil)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := attest.ParsePrivateKey(privPEM, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := attest.NewKeySigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{s, pubPEM}
}

// provOpts are what sign passes to attest.Provenance, for an edit to change.
type provOpts struct {
	builderID string
	noTlog    bool
}

// sign signs the provenance of testResult, changed by edit, and returns the bundle's JSON.
func sign(t testing.TB, k testKey, edit func(*attest.Build, *provOpts, *intoto.Statement)) []byte {
	t.Helper()
	res := testResult()
	opts := provOpts{builderID: testBuilder}
	if edit != nil {
		edit(res, &opts, nil)
	}
	popts := []attest.ProvenanceOption{attest.WithSlsaboxBinary("v0.1.0", "")}
	if opts.noTlog {
		popts = append(popts, attest.WithNoTlog())
	}
	st, err := attest.Provenance(res, opts.builderID, popts...)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(nil, nil, st)
	}
	b, err := attest.Sign(context.Background(), st, k.signer)
	if err != nil {
		t.Fatal(err)
	}
	data, err := attest.MarshalBundle(b)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func parse(t testing.TB, data []byte) *bundle.Bundle {
	t.Helper()
	b, err := attest.ParseBundle(data)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func goodPolicy() Policy {
	return Policy{Digest: helloDigest, BuilderID: testBuilder, SourceURI: testSource, SourceRef: "refs/heads/main",
		SourceCommit: testCommit, AllowedImages: []string{testImage}, RequireHermetic: true}
}

func unlogged(t testing.TB, pub []byte) *Verifier {
	t.Helper()
	v, err := New(WithPublicKey(pub), WithoutTransparencyLogUnsafe())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVerifyAccepts(t *testing.T) {
	k := newKey(t)
	data := sign(t, k, nil)
	v := unlogged(t, k.pub)
	r, err := v.Verify(parse(t, data), goodPolicy())
	if err != nil || !r.Verified {
		t.Fatalf("the original does not verify: %v\n%+v", err, r.Checks)
	}
	if len(r.Checks) != len(checkOrder) {
		t.Fatalf("%d checks, want %d", len(r.Checks), len(checkOrder))
	}
	for i, c := range r.Checks {
		if c.Name != checkOrder[i] {
			t.Errorf("check %d is %q, want %q", i, c.Name, checkOrder[i])
		}
		if !c.OK {
			t.Errorf("check %s failed: %s", c.Name, c.Detail)
		}
	}
	if c, _ := r.Check(CheckTlog); !c.Skipped {
		t.Error("the log check is not marked skipped under the opt-out")
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "unsafe") {
		t.Errorf("warnings: %q", r.Warnings)
	}
	if r.Statement == nil || r.Statement.GetSubject()[0].GetName() != "hello" {
		t.Error("no verified statement in the report")
	}
	// The other subject of the same build verifies too, and a prefixed digest is accepted.
	p := goodPolicy()
	p.Digest = "sha256:" + otherDigest
	if _, err := v.Verify(parse(t, data), p); err != nil {
		t.Errorf("second subject: %v", err)
	}
	// Minimal policy: optional checks are reported as skipped, not failed.
	r, err = v.Verify(parse(t, data), Policy{Digest: helloDigest, BuilderID: testBuilder, SourceURI: testSource})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{CheckSourceRef, CheckSourceCommit, CheckBuilderImage, CheckHermetic} {
		if c, _ := r.Check(n); !c.OK || !c.Skipped {
			t.Errorf("%s: %+v", n, c)
		}
	}
}

// TestTamper mutates a genuine bundle, the trust or the signed provenance, and checks
// that each is rejected by the check that should catch it.
func TestTamper(t *testing.T) {
	k := newKey(t)
	data := sign(t, k, nil)
	bundleCase := func(f func(*bundle.Bundle)) func(t *testing.T) (*Verifier, *bundle.Bundle, Policy) {
		return func(t *testing.T) (*Verifier, *bundle.Bundle, Policy) {
			b := parse(t, data)
			f(b)
			return unlogged(t, k.pub), b, goodPolicy()
		}
	}
	resigned := func(edit func(*attest.Build, *provOpts, *intoto.Statement)) func(t *testing.T) (*Verifier, *bundle.Bundle, Policy) {
		return func(t *testing.T) (*Verifier, *bundle.Bundle, Policy) {
			return unlogged(t, k.pub), parse(t, sign(t, k, edit)), goodPolicy()
		}
	}
	policyCase := func(f func(*Policy)) func(t *testing.T) (*Verifier, *bundle.Bundle, Policy) {
		return func(t *testing.T) (*Verifier, *bundle.Bundle, Policy) {
			p := goodPolicy()
			f(&p)
			return unlogged(t, k.pub), parse(t, data), p
		}
	}
	payloadEdit := func(old, new string) func(*bundle.Bundle) {
		return func(b *bundle.Bundle) {
			env := b.GetDsseEnvelope()
			if !strings.Contains(string(env.Payload), old) {
				t.Fatalf("payload has no %q", old)
			}
			env.Payload = []byte(strings.Replace(string(env.Payload), old, new, 1))
		}
	}
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T) (*Verifier, *bundle.Bundle, Policy)
		check string
		want  error
	}{
		{"payload bytes", bundleCase(func(b *bundle.Bundle) { b.GetDsseEnvelope().Payload[20] ^= 1 }), CheckSignature, ErrSignature},
		{"signature bytes", bundleCase(func(b *bundle.Bundle) { b.GetDsseEnvelope().Signatures[0].Sig[8] ^= 1 }), CheckSignature, ErrSignature},
		{"payload subject digest", bundleCase(payloadEdit(helloDigest, strings.Repeat("3", 64))), CheckSignature, ErrSignature},
		{"payload builder id", bundleCase(payloadEdit(testBuilder, "https://evil.example/builder")), CheckSignature, ErrSignature},
		{"payload source uri", bundleCase(payloadEdit(testSource, "git+https://github.com/evil/fork")), CheckSignature, ErrSignature},
		{"bundle media type", bundleCase(func(b *bundle.Bundle) { b.MediaType = "application/vnd.dev.sigstore.bundle.v0.4+json" }), CheckSignature, ErrSignature},
		{"envelope payload type", bundleCase(func(b *bundle.Bundle) { b.GetDsseEnvelope().PayloadType = "application/json" }), CheckSignature, ErrSignature},
		{"duplicated signature", bundleCase(func(b *bundle.Bundle) {
			env := b.GetDsseEnvelope()
			env.Signatures = append(env.Signatures, &protodsse.Signature{Sig: env.Signatures[0].Sig})
		}), CheckSignature, ErrSignature},
		{"no signature", bundleCase(func(b *bundle.Bundle) { b.GetDsseEnvelope().Signatures = nil }), CheckSignature, ErrSignature},
		{"missing verification material", bundleCase(func(b *bundle.Bundle) { b.VerificationMaterial = nil }), CheckSignature, ErrSignature},
		{"another public key", func(t *testing.T) (*Verifier, *bundle.Bundle, Policy) {
			return unlogged(t, newKey(t).pub), parse(t, data), goodPolicy()
		}, CheckSignature, ErrSignature},
		{"signed by another key", func(t *testing.T) (*Verifier, *bundle.Bundle, Policy) {
			return unlogged(t, k.pub), parse(t, sign(t, newKey(t), nil)), goodPolicy()
		}, CheckSignature, ErrSignature},
		{"no log entry", func(t *testing.T) (*Verifier, *bundle.Bundle, Policy) {
			v, err := New(WithPublicKey(k.pub), WithTrustedRoot(trustedRootWithLog(t)))
			if err != nil {
				t.Fatal(err)
			}
			return v, parse(t, data), goodPolicy()
		}, CheckTlog, ErrNotLogged},
		{"another artifact", policyCase(func(p *Policy) { p.Digest = strings.Repeat("4", 64) }), CheckSubjectDigest, ErrDigestMismatch},
		{"builder id", resigned(func(_ *attest.Build, o *provOpts, _ *intoto.Statement) {
			if o != nil {
				o.builderID = "https://evil.example/builder"
			}
		}), CheckBuilderID, ErrUntrustedBuilder},
		{"builder id expected", policyCase(func(p *Policy) { p.BuilderID = "https://other.example/builder" }), CheckBuilderID, ErrUntrustedBuilder},
		{"source uri", resigned(func(r *attest.Build, _ *provOpts, _ *intoto.Statement) {
			if r != nil {
				r.Source.URI = "git+https://github.com/evil/fork"
			}
		}), CheckSourceURI, ErrPolicy},
		{"source ref", resigned(func(r *attest.Build, _ *provOpts, _ *intoto.Statement) {
			if r != nil {
				r.Source.Ref = "refs/heads/evil"
			}
		}), CheckSourceRef, ErrPolicy},
		{"source commit", policyCase(func(p *Policy) { p.SourceCommit = strings.Repeat("e", 40) }), CheckSourceCommit, ErrPolicy},
		{"builder image", policyCase(func(p *Policy) { p.AllowedImages = []string{"golang@sha256:" + strings.Repeat("9", 64)} }), CheckBuilderImage, ErrPolicy},
		{"build type", resigned(func(_ *attest.Build, _ *provOpts, st *intoto.Statement) {
			if st != nil {
				bd := st.Predicate.Fields["buildDefinition"].GetStructValue()
				bd.Fields["buildType"] = structpb.NewStringValue("https://example.org/other")
			}
		}), CheckBuildType, ErrPolicy},
		{"network not none", resigned(func(r *attest.Build, _ *provOpts, _ *intoto.Statement) {
			if r != nil {
				r.Sandbox.Network = "host"
			}
		}), CheckHermetic, ErrPolicy},
		{"predicate type", resigned(func(_ *attest.Build, _ *provOpts, st *intoto.Statement) {
			if st != nil {
				st.PredicateType = "https://slsa.dev/provenance/v0.2"
			}
		}), CheckPredicateType, ErrPolicy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, b, p := tc.setup(t)
			r, err := v.Verify(b, p)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if r.Verified {
				t.Fatal("report says verified")
			}
			c, _ := r.Check(tc.check)
			if c.OK {
				t.Fatalf("check %q passed: %+v", tc.check, r.Checks)
			}
			if f := r.Failed(); f[0].Name != tc.check && !(tc.check != CheckSignature && f[0].Skipped) {
				t.Errorf("first failed check is %q, want %q", f[0].Name, tc.check)
			}
			// The class first, then the check: "untrusted builder: builder id: want ...".
			if !strings.HasPrefix(err.Error(), tc.want.Error()+": "+tc.check+": ") {
				t.Errorf("error does not start with its class and the check: %v", err)
			}
			if !errors.Is(err, ErrNotVerified) || errors.Is(err, ErrConfiguration) {
				t.Errorf("error is not in the ErrNotVerified family alone: %v", err)
			}
		})
	}
}

// TestNoTlogWarns: provenance that records --no-tlog verifies, with a warning.
func TestNoTlogWarns(t *testing.T) {
	k := newKey(t)
	v := unlogged(t, k.pub)
	for _, noTlog := range []bool{false, true} {
		data := sign(t, k, func(_ *attest.Build, o *provOpts, _ *intoto.Statement) {
			if o != nil {
				o.noTlog = noTlog
			}
		})
		r, err := v.Verify(parse(t, data), goodPolicy())
		if err != nil {
			t.Fatalf("noTlog %v: %v", noTlog, err)
		}
		warned := slices.ContainsFunc(r.Warnings, func(w string) bool { return strings.Contains(w, "--no-tlog") })
		if warned != noTlog {
			t.Errorf("noTlog %v: warnings %q", noTlog, r.Warnings)
		}
	}
}

func TestPolicyRequired(t *testing.T) {
	k := newKey(t)
	v := unlogged(t, k.pub)
	b := parse(t, sign(t, k, nil))
	for name, p := range map[string]Policy{
		"no digest":          {BuilderID: testBuilder, SourceURI: testSource},
		"short digest":       {Digest: "abc", BuilderID: testBuilder, SourceURI: testSource},
		"no builder":         {Digest: helloDigest, SourceURI: testSource},
		"no source":          {Digest: helloDigest, BuilderID: testBuilder},
		"builder and any":    {Digest: helloDigest, BuilderID: testBuilder, AllowAnyBuilderUnsafe: true, SourceURI: testSource},
		"unpinned image":     {Digest: helloDigest, BuilderID: testBuilder, SourceURI: testSource, AllowedImages: []string{"golang:1.26"}},
		"abbreviated commit": {Digest: helloDigest, BuilderID: testBuilder, SourceURI: testSource, SourceCommit: "cccccc"},
	} {
		if _, err := v.Verify(b, p); !errors.Is(err, ErrInvalidPolicy) {
			t.Errorf("%s: %v", name, err)
		}
	}
	r, err := v.Verify(b, Policy{Digest: helloDigest, AllowAnyBuilderUnsafe: true, AllowAnySourceUnsafe: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Warnings) != 3 {
		t.Errorf("every opt-out must warn: %q", r.Warnings)
	}
}

func TestNew(t *testing.T) {
	k := newKey(t)
	for name, opts := range map[string][]Option{
		"nothing":           nil,
		"no key":            {WithoutTransparencyLogUnsafe()},
		"bad key":           {WithPublicKey([]byte("nope")), WithoutTransparencyLogUnsafe()},
		"log without root":  {WithPublicKey(k.pub)},
		"missing root file": {WithPublicKey(k.pub), WithTrustedRootFile("/nonexistent/trusted_root.json")},
		"nil root":          {WithPublicKey(k.pub), WithTrustedRoot(nil)},
	} {
		if _, err := New(opts...); !errors.Is(err, ErrTrustMaterial) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// identityPolicyYAML is a policy file for keyless bundles: the certificate identity
// with the provenance expectations.
const identityPolicyYAML = `builderID: https://github.com/o/r/.github/workflows/release.yml@refs/tags/v1
sourceURI: git+https://github.com/o/r
certificateIdentity:
  subjectAlternativeName: https://github.com/o/r/.github/workflows/release.yml@refs/tags/v1
  issuer: https://token.actions.githubusercontent.com
  sourceRepositoryURI: https://github.com/o/r
  runnerEnvironment: github-hosted
  refuseSelfHostedRunner: true
`

// TestLoadPolicyIdentity: a policy file carries the certificate identity, and it
// survives a YAML and a JSON round trip.
func TestLoadPolicyIdentity(t *testing.T) {
	p, err := LoadPolicy([]byte(identityPolicyYAML))
	if err != nil {
		t.Fatal(err)
	}
	want := Identity{SubjectAlternativeName: "https://github.com/o/r/.github/workflows/release.yml@refs/tags/v1",
		Issuer: ghIssuer, SourceRepositoryURI: "https://github.com/o/r", RunnerEnvironment: RunnerGitHubHosted, RefuseSelfHostedRunner: true}
	if p.CertificateIdentity == nil || *p.CertificateIdentity != want {
		t.Fatalf("identity %+v, want %+v", p.CertificateIdentity, want)
	}
	out, err := yaml.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	q, err := LoadPolicy(out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if q.CertificateIdentity == nil || *q.CertificateIdentity != want || q.BuilderID != p.BuilderID {
		t.Errorf("yaml round trip: %+v", q)
	}
	j, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(j), `"certificateIdentity":{"subjectAlternativeName":`) {
		t.Errorf("json names: %s", j)
	}
	// Without an identity the file says nothing about one.
	p.CertificateIdentity = nil
	if out, _ := yaml.Marshal(p); strings.Contains(string(out), "certificateIdentity") {
		t.Errorf("an empty identity is written:\n%s", out)
	}
}

func TestLoadPolicy(t *testing.T) {
	p, err := LoadPolicy([]byte("builderID: " + testBuilder + "\nsourceURI: " + testSource + "\nallowedImages: [" + testImage + "]\nrequireHermetic: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p.BuilderID != testBuilder || p.SourceURI != testSource || len(p.AllowedImages) != 1 || !p.RequireHermetic {
		t.Errorf("%+v", p)
	}
	for name, in := range map[string]string{
		"unknown key":   "builderId: x\n",
		"typo":          "builderID: x\nsourceUri: y\n",
		"bad digest":    "digest: sha256:zz\n",
		"empty":         "",
		"two docs":      "builderID: x\n---\nbuilderID: y\n",
		"wrong type":    "requireHermetic: [1]\n",
		"identity typo": "certificateIdentity:\n  subjectAltName: x\n",
		"identity list": "certificateIdentity: [x]\n",
	} {
		if _, err := LoadPolicy([]byte(in)); !errors.Is(err, ErrInvalidPolicy) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
