package verify

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/slsabox/slsabox/attest"
	"github.com/slsabox/slsabox/attest/spec"
)

// stdVerifier checks DSSE signatures with the standard library alone, so that the
// test shares no code with the writer (sigstore-go's DSSE signing): securesystemslib
// computes the PAE and matches signatures, crypto/ecdsa and crypto/ed25519 verify.
type stdVerifier struct{ pub crypto.PublicKey }

func (v stdVerifier) Verify(_ context.Context, data, sig []byte) error {
	switch k := v.pub.(type) {
	case *ecdsa.PublicKey:
		h := sha256.Sum256(data)
		if !ecdsa.VerifyASN1(k, h[:], sig) {
			return errors.New("ecdsa: bad signature")
		}
	case ed25519.PublicKey:
		if !ed25519.Verify(k, data, sig) {
			return errors.New("ed25519: bad signature")
		}
	default:
		return errors.New("unsupported key")
	}
	return nil
}
func (v stdVerifier) KeyID() (string, error)   { return "", nil }
func (v stdVerifier) Public() crypto.PublicKey { return v.pub }

// vsaJSON is the VSA as the spec (https://slsa.dev/spec/v1.0/verification_summary)
// spells it, declared here rather than taken from the bindings that wrote it.
type vsaJSON struct {
	Type          string `json:"_type"`
	PredicateType string `json:"predicateType"`
	Subject       []struct {
		Name   string            `json:"name"`
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
	Predicate struct {
		Verifier struct {
			ID string `json:"id"`
		} `json:"verifier"`
		TimeVerified time.Time `json:"timeVerified"`
		ResourceURI  string    `json:"resourceUri"`
		Policy       struct {
			URI    string            `json:"uri"`
			Digest map[string]string `json:"digest"`
		} `json:"policy"`
		InputAttestations []struct {
			URI    string            `json:"uri"`
			Digest map[string]string `json:"digest"`
		} `json:"inputAttestations"`
		VerificationResult string   `json:"verificationResult"`
		VerifiedLevels     []string `json:"verifiedLevels"`
		SlsaVersion        string   `json:"slsaVersion"`
	} `json:"predicate"`
}

func testSummary(passed bool) Summary {
	return Summary{
		VerifierID:   "https://verifier.example/v1",
		ResourceURI:  "https://example.org/releases/v1/hello",
		Subjects:     []*intoto.ResourceDescriptor{{Name: "hello", Digest: map[string]string{"sha256": helloDigest}}},
		PolicyURI:    "file:///etc/policy.yaml",
		PolicyDigest: map[string]string{"sha256": strings.Repeat("5", 64)},
		InputAttestations: []*intoto.ResourceDescriptor{{Uri: "file:///dl/provenance.sigstore.json",
			Digest: map[string]string{"sha256": strings.Repeat("6", 64)}}},
		Passed:         passed,
		VerifiedLevels: []string{"SLSA_BUILD_LEVEL_2", "SLSABOX_REPRODUCED"},
		TimeVerified:   time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC),
	}
}

// openVSA verifies the envelope with securesystemslib and the standard library and
// decodes the statement.
func openVSA(t *testing.T, envJSON []byte, pub crypto.PublicKey) (*vsaJSON, error) {
	t.Helper()
	var env dsse.Envelope
	if err := json.Unmarshal(envJSON, &env); err != nil {
		t.Fatalf("not a DSSE envelope: %v", err)
	}
	ev, err := dsse.NewEnvelopeVerifier(stdVerifier{pub})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ev.Verify(context.Background(), &env); err != nil {
		return nil, err
	}
	if env.PayloadType != "application/vnd.in-toto+json" || len(env.Signatures) != 1 || env.Signatures[0].KeyID != "" {
		t.Errorf("envelope: payload type %q, %d signatures, keyid %q", env.PayloadType, len(env.Signatures), env.Signatures[0].KeyID)
	}
	payload, err := env.DecodeB64Payload()
	if err != nil {
		t.Fatal(err)
	}
	var v vsaJSON
	if err := json.Unmarshal(payload, &v); err != nil {
		t.Fatalf("payload: %v", err)
	}
	return &v, nil
}

func signedVSA(t *testing.T, s Summary, alg attest.KeyAlgorithm) ([]byte, crypto.PublicKey) {
	t.Helper()
	privPEM, pubPEM, err := attest.GenerateKey(alg, nil)
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := attest.ParsePrivateKey(privPEM, nil)
	signer, err := attest.NewKeySigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	st, err := NewVSA(s)
	if err != nil {
		t.Fatal(err)
	}
	env, err := attest.SignVSA(context.Background(), st, signer)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := cryptoutils.UnmarshalPEMToPublicKey(pubPEM)
	return env, pub
}

func TestVSAIndependentCheck(t *testing.T) {
	for _, alg := range []attest.KeyAlgorithm{attest.ECDSAP256, attest.Ed25519} {
		t.Run(string(alg), func(t *testing.T) {
			env, pub := signedVSA(t, testSummary(true), alg)
			v, err := openVSA(t, env, pub)
			if err != nil {
				t.Fatalf("securesystemslib rejects the VSA: %v", err)
			}
			p := v.Predicate
			for name, ok := range map[string]bool{
				"_type":              v.Type == "https://in-toto.io/Statement/v1",
				"predicateType":      v.PredicateType == spec.PredicateVSA,
				"subject":            len(v.Subject) == 1 && v.Subject[0].Name == "hello" && v.Subject[0].Digest["sha256"] == helloDigest,
				"verifier.id":        p.Verifier.ID == "https://verifier.example/v1",
				"timeVerified":       p.TimeVerified.Equal(time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC)),
				"resourceUri":        p.ResourceURI == "https://example.org/releases/v1/hello",
				"policy":             p.Policy.URI == "file:///etc/policy.yaml" && p.Policy.Digest["sha256"] == strings.Repeat("5", 64),
				"inputAttestations":  len(p.InputAttestations) == 1 && p.InputAttestations[0].Digest["sha256"] == strings.Repeat("6", 64),
				"verificationResult": p.VerificationResult == "PASSED",
				"verifiedLevels":     strings.Join(p.VerifiedLevels, ",") == "SLSA_BUILD_LEVEL_2,SLSABOX_REPRODUCED",
				"slsaVersion":        p.SlsaVersion == "1.0",
			} {
				if !ok {
					t.Errorf("field %s is wrong: %+v", name, v)
				}
			}

			// Negative cases: another key, a changed payload, a changed signature, a
			// changed payload type (part of what is signed).
			_, otherPub := signedVSA(t, testSummary(true), alg)
			if _, err := openVSA(t, env, otherPub); err == nil {
				t.Error("verified with another key")
			}
			var e attest.Envelope
			json.Unmarshal(env, &e)
			payload, _ := base64.StdEncoding.DecodeString(e.Payload)
			for name, edit := range map[string]func(*attest.Envelope){
				"payload result": func(e *attest.Envelope) {
					e.Payload = base64.StdEncoding.EncodeToString([]byte(strings.Replace(string(payload), "PASSED", "FAILED", 1)))
				},
				"payload level": func(e *attest.Envelope) {
					e.Payload = base64.StdEncoding.EncodeToString([]byte(strings.Replace(string(payload), "LEVEL_2", "LEVEL_3", 1)))
				},
				"payload type": func(e *attest.Envelope) { e.PayloadType = "application/json" },
				"signature": func(e *attest.Envelope) {
					sig, _ := base64.StdEncoding.DecodeString(e.Signatures[0].Sig)
					sig[len(sig)/2] ^= 1
					e.Signatures[0].Sig = base64.StdEncoding.EncodeToString(sig)
				},
			} {
				tampered := e
				tampered.Signatures = append([]attest.EnvelopeSignature(nil), e.Signatures...)
				edit(&tampered)
				data, _ := json.Marshal(tampered)
				if _, err := openVSA(t, data, pub); err == nil {
					t.Errorf("tampered %s verified", name)
				}
			}
		})
	}
}

func TestVSAFailed(t *testing.T) {
	env, pub := signedVSA(t, testSummary(false), attest.ECDSAP256)
	v, err := openVSA(t, env, pub)
	if err != nil {
		t.Fatal(err)
	}
	if v.Predicate.VerificationResult != "FAILED" || strings.Join(v.Predicate.VerifiedLevels, ",") != "FAILED" {
		t.Errorf("a failed verification says %s %v", v.Predicate.VerificationResult, v.Predicate.VerifiedLevels)
	}
}

func TestVSAInvalid(t *testing.T) {
	for name, edit := range map[string]func(*Summary){
		"no verifier id":     func(s *Summary) { s.VerifierID = "" },
		"verifier not a uri": func(s *Summary) { s.VerifierID = "me" },
		"no resource uri":    func(s *Summary) { s.ResourceURI = "" },
		"no policy":          func(s *Summary) { s.PolicyURI = "" },
		"no subject":         func(s *Summary) { s.Subjects = nil },
		"subject no digest":  func(s *Summary) { s.Subjects[0].Digest = nil },
		"passed, no level":   func(s *Summary) { s.VerifiedLevels = nil },
		"passed, FAILED":     func(s *Summary) { s.VerifiedLevels = []string{"FAILED"} },
		"two build levels":   func(s *Summary) { s.VerifiedLevels = []string{"SLSA_BUILD_LEVEL_1", "SLSA_BUILD_LEVEL_2"} },
		"SLSA_ custom level": func(s *Summary) { s.VerifiedLevels = []string{"SLSA_BUILD_REPRODUCED"} },
		"empty level":        func(s *Summary) { s.VerifiedLevels = []string{""} },
	} {
		s := testSummary(true)
		s.Subjects = []*intoto.ResourceDescriptor{{Name: "hello", Digest: map[string]string{"sha256": helloDigest}}}
		edit(&s)
		if _, err := NewVSA(s); !errors.Is(err, ErrInvalidVSA) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestBuildLevel(t *testing.T) {
	data, v := loggedFixture(t)
	b := parse(t, data)
	for _, tc := range []struct {
		level int
		edit  func(*Policy)
		want  int
		err   error
	}{
		{0, nil, 1, nil},
		{2, nil, 2, nil},
		{3, nil, 3, nil},
		{3, func(p *Policy) { p.RequireHermetic = false }, 0, ErrInvalidPolicy},
		{2, func(p *Policy) { p.BuilderID, p.AllowAnyBuilderUnsafe = "", true }, 0, ErrInvalidPolicy},
		{3, func(p *Policy) { p.AllowDirtyUnsafe = true }, 0, ErrInvalidPolicy},
		{2, func(p *Policy) { p.SourceURI, p.AllowAnySourceUnsafe = "", true }, 0, ErrInvalidPolicy},
		{4, nil, 0, ErrInvalidPolicy},
		{2, func(p *Policy) { p.BuilderID = "https://other.example" }, 0, ErrUntrustedBuilder},
	} {
		p := goodPolicy()
		p.BuilderLevel = tc.level
		if tc.edit != nil {
			tc.edit(&p)
		}
		r, err := v.Verify(b, p)
		if !errors.Is(err, tc.err) || r.BuildLevel != tc.want {
			t.Errorf("level %d: build level %d, err %v; want %d, %v", tc.level, r.BuildLevel, err, tc.want, tc.err)
		}
		if err == nil && len(r.OptOuts) != 0 {
			t.Errorf("level %d: opt-outs %v", tc.level, r.OptOuts)
		}
	}
}

// TestOptOutsCapLevel: a verification that skipped the log claims level 1 at most,
// whatever level the policy trusts the builder with, and names the opt-out.
func TestOptOutsCapLevel(t *testing.T) {
	k := newKey(t)
	v := unlogged(t, k.pub)
	b := parse(t, sign(t, k, nil))
	p := goodPolicy()
	p.BuilderLevel = 3
	r, err := v.Verify(b, p)
	if err != nil || r.BuildLevel != 1 || !slices.Equal(r.OptOuts, []string{OptOutNoTlog}) {
		t.Errorf("--no-tlog-unsafe at level 3: level %d, opt-outs %v, err %v; want 1, [%s]", r.BuildLevel, r.OptOuts, err, OptOutNoTlog)
	}
}

// TestDirtyFails: a build of uncommitted changes fails verification unless the policy
// opts out by name; then the report names the opt-out and claims level 1.
func TestDirtyFails(t *testing.T) {
	k := newKey(t)
	v := unlogged(t, k.pub)
	b := parse(t, sign(t, k, func(res *attest.Build, _ *provOpts, _ *intoto.Statement) {
		if res != nil {
			res.Source.Dirty, res.AllowDirtyTree = true, true
		}
	}))
	p := goodPolicy()
	r, err := v.Verify(b, p)
	if !errors.Is(err, ErrPolicy) || r.Verified {
		t.Fatalf("dirty build: verified %v, err %v", r.Verified, err)
	}
	if c, _ := r.Check(CheckCleanSource); c.OK || !strings.Contains(c.Detail, "uncommitted changes") {
		t.Errorf("check %+v", c)
	}
	p.AllowDirtyUnsafe = true
	r, err = v.Verify(b, p)
	if err != nil || r.BuildLevel != 1 || !slices.Equal(r.OptOuts, []string{OptOutNoTlog, OptOutDirty}) {
		t.Errorf("with AllowDirtyUnsafe: level %d, opt-outs %v, err %v", r.BuildLevel, r.OptOuts, err)
	}
	if c, _ := r.Check(CheckCleanSource); !c.Skipped {
		t.Errorf("check %+v", c)
	}
	// A clean build passes the check.
	r, _ = v.Verify(parse(t, sign(t, k, nil)), goodPolicy())
	if c, _ := r.Check(CheckCleanSource); !c.OK || c.Skipped {
		t.Errorf("clean build: %+v", c)
	}
}

// TestVSAOptOuts: a PASSED VSA records every opt-out as a level and never claims more
// than SLSA_BUILD_LEVEL_1 with one.
func TestVSAOptOuts(t *testing.T) {
	s := testSummary(true)
	s.VerifiedLevels = []string{"SLSA_BUILD_LEVEL_3"}
	s.OptOuts = []string{OptOutNoTlog}
	if _, err := NewVSA(s); !errors.Is(err, ErrInvalidVSA) {
		t.Errorf("level 3 with an opt-out: %v", err)
	}
	s.VerifiedLevels = []string{"SLSA_BUILD_LEVEL_1"}
	s.OptOuts = []string{OptOutNoTlog, OptOutDirty}
	st, err := NewVSA(s)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range st.GetPredicate().GetFields()["verifiedLevels"].GetListValue().GetValues() {
		got = append(got, l.GetStringValue())
	}
	want := []string{"SLSA_BUILD_LEVEL_1", "SLSABOX_OPT_OUT_WITHOUT_TRANSPARENCY_LOG", "SLSABOX_OPT_OUT_ALLOW_DIRTY"}
	if !slices.Equal(got, want) {
		t.Errorf("levels %v, want %v", got, want)
	}
}
