package verify

import (
	"context"
	"crypto/x509"
	"errors"
	"strings"
	"testing"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"

	"github.com/slsabox/slsabox/attest"
)

// A keyless identity that names no CI repository (an e-mail or a plain SAN): the
// provenance's builder id must then be the SAN itself.
const (
	testSAN    = "https://example.org/builders/keyless"
	testIssuer = "https://issuer.example.org"
)

// fakeFulcio is a Sigstore instance in memory (sigstore-go's virtual CA and TSA): its
// trusted root and keyless bundles signed through it.
type fakeFulcio struct {
	vs   *ca.VirtualSigstore
	root *root.TrustedRoot
}

func newFakeFulcio(t testing.TB) *fakeFulcio {
	t.Helper()
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	// No CT log: the certificates carry no SCT, and the verifier warns.
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, vs.FulcioCertificateAuthorities(), nil, vs.TimestampingAuthorities(), vs.RekorLogs())
	if err != nil {
		t.Fatal(err)
	}
	return &fakeFulcio{vs: vs, root: tr}
}

// certSigner signs with the key of a certificate issued by the fake CA.
type certSigner struct {
	attest.Signer
	cert *x509.Certificate
}

func (s certSigner) GetHint() []byte { return nil }
func (s certSigner) CertificateProvider() (sgsign.CertificateProvider, *sgsign.CertificateProviderOptions) {
	return s, &sgsign.CertificateProviderOptions{}
}
func (s certSigner) GetCertificate(context.Context, sgsign.Keypair, *sgsign.CertificateProviderOptions) ([]byte, error) {
	return s.cert.Raw, nil
}

// sign returns testResult's provenance by builder id san, signed keyless by a
// certificate issued to san and issuer, with an RFC 3161 timestamp and no log entry.
func (f *fakeFulcio) sign(t testing.TB, san, issuer string) *bundle.Bundle {
	t.Helper()
	cert, priv, err := f.vs.GenerateLeafCert(san, issuer)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := attest.NewKeySigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	st, err := attest.Provenance(testResult(), san)
	if err != nil {
		t.Fatal(err)
	}
	b, err := attest.Sign(context.Background(), st, certSigner{ks, cert})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := f.vs.TimestampResponse(b.GetDsseEnvelope().GetSignatures()[0].GetSig())
	if err != nil {
		t.Fatal(err)
	}
	b.VerificationMaterial.TimestampVerificationData = &protobundle.TimestampVerificationData{
		Rfc3161Timestamps: []*protocommon.RFC3161SignedTimestamp{{SignedTimestamp: ts}}}
	return b
}

func keylessPolicy(id *Identity) Policy {
	return Policy{Digest: helloDigest, BuilderID: testSAN, SourceURI: testSource, CertificateIdentity: id}
}

// TestKeylessPolicyIdentity: the verifier holds only the trusted root; who signed a
// keyless bundle is the policy's identity, checked per Verify, and required.
func TestKeylessPolicyIdentity(t *testing.T) {
	f := newFakeFulcio(t)
	v, err := New(WithTrustedRoot(f.root), WithoutTransparencyLogUnsafe())
	if err != nil {
		t.Fatal(err)
	}
	b := f.sign(t, testSAN, testIssuer)

	// A policy file that names the identity.
	p, err := LoadPolicy([]byte("builderID: " + testSAN + "\nsourceURI: " + testSource +
		"\ncertificateIdentity:\n  subjectAlternativeName: " + testSAN + "\n  issuer: " + testIssuer + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	p.Digest = helloDigest
	r, err := v.Verify(b, p)
	if err != nil {
		t.Fatalf("keyless bundle with the policy's identity: %v\n%+v", err, r.Checks)
	}
	if c, _ := r.Check(CheckCertIdentity); !c.OK || !strings.Contains(c.Detail, testSAN) {
		t.Errorf("identity check: %+v", c)
	}
	if len(r.Warnings) == 0 || !strings.Contains(strings.Join(r.Warnings, "\n"), "certificate transparency not checked") {
		t.Errorf("no CT warning: %q", r.Warnings)
	}

	for _, tt := range []struct {
		name  string
		id    *Identity
		want  error
		check string
	}{
		// Strict by default: a keyless bundle needs an identity to trust.
		{"no identity", nil, ErrInvalidPolicy, ""},
		{"incomplete identity", &Identity{SubjectAlternativeName: testSAN}, ErrInvalidPolicy, ""},
		{"another SAN", &Identity{SubjectAlternativeName: testSAN + "/other", Issuer: testIssuer}, ErrIdentity, CheckCertIdentity},
		{"another issuer", &Identity{SubjectAlternativeName: testSAN, Issuer: "https://evil.example"}, ErrIdentity, CheckCertIdentity},
		{"regexp of another", &Identity{SubjectAlternativeNameRegexp: `https://example\.org/builders/other.*`, Issuer: testIssuer}, ErrIdentity, CheckCertIdentity},
		{"regexp", &Identity{SubjectAlternativeNameRegexp: `https://example\.org/builders/.*`, Issuer: testIssuer}, nil, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := v.Verify(b, keylessPolicy(tt.id))
			if !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if tt.want == ErrInvalidPolicy && !strings.Contains(err.Error(), "certificate") {
				t.Errorf("the error does not say the certificate identity is missing: %v", err)
			}
			if tt.check != "" {
				if f := r.Failed(); len(f) != 1 || f[0].Name != tt.check {
					t.Errorf("failed checks %+v, want only %q", f, tt.check)
				}
			}
		})
	}

	// A certificate issued to another SAN, claiming our builder id: the certificate's
	// identity passes a regexp that admits it, the cross check refuses it.
	other := f.sign(t, testSAN+"/other", testIssuer)
	if _, err := v.Verify(other, keylessPolicy(&Identity{SubjectAlternativeName: testSAN + "/other", Issuer: testIssuer})); !errors.Is(err, ErrUntrustedBuilder) {
		t.Errorf("builder id of another SAN: err = %v, want ErrUntrustedBuilder", err)
	}

	// A key-signed bundle cannot meet a policy that names a certificate identity, and a
	// verifier without the key cannot check it at all.
	k := newKey(t)
	kb := parse(t, sign(t, k, nil))
	withKey, err := New(WithPublicKey(k.pub), WithTrustedRoot(f.root), WithoutTransparencyLogUnsafe())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := withKey.Verify(kb, goodPolicy()); err != nil {
		t.Errorf("key and keyless trust: key-signed bundle: %v", err)
	}
	if _, err := withKey.Verify(b, keylessPolicy(&Identity{SubjectAlternativeName: testSAN, Issuer: testIssuer})); err != nil {
		t.Errorf("key and keyless trust: keyless bundle: %v", err)
	}
	// Checked with a key and no identity: the key did not sign it, so the signature
	// fails (exit 1), as for any bundle another key signed.
	if r, err := withKey.Verify(b, goodPolicy()); !errors.Is(err, ErrSignature) || r.Failed()[0].Name != CheckSignature {
		t.Errorf("keyless bundle checked with a key: err = %v, failed %+v; want the signature check to fail", err, r.Failed())
	}
	idp := goodPolicy()
	idp.CertificateIdentity = &Identity{SubjectAlternativeName: testSAN, Issuer: testIssuer}
	if _, err := withKey.Verify(kb, idp); !errors.Is(err, ErrSignature) {
		t.Errorf("key-signed bundle, policy with an identity: err = %v, want ErrSignature", err)
	}
	if _, err := v.Verify(kb, goodPolicy()); !errors.Is(err, ErrSignature) {
		t.Errorf("key-signed bundle, verifier without a key: err = %v, want ErrSignature", err)
	}
}
