//go:build integration

package attest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/slsabox/slsabox/internal/testenv"
)

func ghToken(s testenv.KeylessStack, query string) *GitHubActionsToken {
	return &GitHubActionsToken{RequestURL: s.TokenURL + query, RequestToken: s.TokenSecret}
}

// TestKeylessSignLogVerify signs with a certificate from the local Fulcio for a
// GitHub-shaped token, timestamps, logs to Rekor v2, and verifies the bundle with
// sigstore-go against the stack's trusted root, identity included.
func TestKeylessSignLogVerify(t *testing.T) {
	s := testenv.Keyless(t)
	ctx := context.Background()
	signer, err := NewKeylessSigner(s.FulcioURL, ghToken(s, "&repository=octo/widget&sha=1111111111111111111111111111111111111111&ref=refs/tags/v1.0.0"))
	if err != nil {
		t.Fatal(err)
	}
	st, _ := Provenance(testResult(), testBuilderID, testOpts...)
	tsa := sign.NewTimestampAuthority(&sign.TimestampAuthorityOptions{URL: s.TSAURL})
	b, err := Sign(ctx, st, signer, WithTimestampAuthority(tsa))
	if err != nil {
		t.Fatal(err)
	}
	if len(b.GetVerificationMaterial().GetTimestampVerificationData().GetRfc3161Timestamps()) != 1 {
		t.Fatal("no RFC 3161 timestamp in the bundle")
	}
	pemBytes, err := SignerPEM(b, signer)
	if err != nil || !strings.Contains(string(pemBytes), "CERTIFICATE") {
		t.Fatalf("SignerPEM: %v %q", err, pemBytes)
	}
	log, err := NewRekor(s.RekorURL)
	if err != nil {
		t.Fatal(err)
	}
	if err := LogBundle(ctx, b, pemBytes, log); err != nil {
		t.Fatal(err)
	}

	tr, err := root.NewTrustedRootFromPath(s.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	v, err := sgverify.NewVerifier(tr, sgverify.WithTransparencyLog(1), sgverify.WithSignedTimestamps(1))
	if err != nil {
		t.Fatal(err)
	}
	san := "https://github.com/octo/widget/.github/workflows/release.yml@refs/tags/v1.0.0"
	id, err := sgverify.NewShortCertificateIdentity(s.Issuer, "", san, "")
	if err != nil {
		t.Fatal(err)
	}
	res, err := v.Verify(b, sgverify.NewPolicy(sgverify.WithoutArtifactUnsafe(), sgverify.WithCertificateIdentity(id)))
	if err != nil {
		t.Fatal(err)
	}
	ext := res.Signature.Certificate.Extensions
	want := certificate.Extensions{
		Issuer: s.Issuer, SourceRepositoryURI: "https://github.com/octo/widget",
		SourceRepositoryDigest: "1111111111111111111111111111111111111111", SourceRepositoryRef: "refs/tags/v1.0.0",
		RunnerEnvironment: "github-hosted", BuildConfigURI: san,
	}
	for name, pair := range map[string][2]string{
		"issuer": {ext.Issuer, want.Issuer}, "repository": {ext.SourceRepositoryURI, want.SourceRepositoryURI},
		"digest": {ext.SourceRepositoryDigest, want.SourceRepositoryDigest}, "ref": {ext.SourceRepositoryRef, want.SourceRepositoryRef},
		"runner": {ext.RunnerEnvironment, want.RunnerEnvironment}, "workflow": {ext.BuildConfigURI, want.BuildConfigURI},
	} {
		if pair[0] != pair[1] {
			t.Errorf("certificate %s = %q, want %q", name, pair[0], pair[1])
		}
	}
	// The bundle's key never touched the disk: it is not the hint of any key file, and
	// the bundle names no key at all.
	if b.GetVerificationMaterial().GetPublicKey() != nil {
		t.Error("a keyless bundle carries a public key hint")
	}

	// A wrong identity is refused.
	other, _ := sgverify.NewShortCertificateIdentity(s.Issuer, "", "https://github.com/octo/other/.github/workflows/release.yml@refs/tags/v1.0.0", "")
	if _, err := v.Verify(b, sgverify.NewPolicy(sgverify.WithoutArtifactUnsafe(), sgverify.WithCertificateIdentity(other))); err == nil {
		t.Error("a wrong SAN verified")
	}
}

// TestKeylessFailures: a bad request token, Fulcio refusing a token from another
// issuer, and Fulcio or the TSA down are each told apart.
func TestKeylessFailures(t *testing.T) {
	s := testenv.Keyless(t)
	ctx := context.Background()
	st, _ := Provenance(testResult(), testBuilderID, testOpts...)
	tsa := sign.NewTimestampAuthority(&sign.TimestampAuthorityOptions{URL: s.TSAURL})
	// A token Fulcio did not issue trust for: well formed, signed by nobody it knows.
	forged := StaticToken("eyJhbGciOiJFUzI1NiJ9." + b64url(`{"iss":"https://evil.example","aud":"sigstore","sub":"x","exp":4102444800}`) + ".c2ln")
	tests := []struct {
		name   string
		fulcio string
		tokens TokenSource
		tsa    string
		want   error
	}{
		{"bad request token", s.FulcioURL, &GitHubActionsToken{RequestURL: s.TokenURL, RequestToken: "wrong"}, s.TSAURL, ErrIdentityToken},
		{"untrusted issuer", s.FulcioURL, forged, s.TSAURL, ErrCertificateRefused},
		{"fulcio down", "http://127.0.0.1:1", ghToken(s, ""), s.TSAURL, ErrCertificateUnavailable},
		{"tsa down", s.FulcioURL, ghToken(s, ""), "http://127.0.0.1:1/api/v1/timestamp", ErrTimestampUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signer, err := NewKeylessSigner(tt.fulcio, tt.tokens)
			if err != nil {
				t.Fatal(err)
			}
			tsa = sign.NewTimestampAuthority(&sign.TimestampAuthorityOptions{URL: tt.tsa, Retries: 0})
			_, err = Sign(ctx, st, signer, WithTimestampAuthority(tsa))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// BenchmarkKeylessSign measures keyless signing against the local stack: a fresh key,
// the token request, Fulcio's certificate and the TSA's timestamp (no log: logging
// costs the same as with a key). BenchmarkKeySign is the same statement with a key.
//
//	scripts/keyless.sh exec go test -tags integration -run - -bench Sign ./attest
func BenchmarkKeylessSign(b *testing.B) {
	s := testenv.Keyless(b)
	ctx := context.Background()
	st, _ := Provenance(testResult(), testBuilderID, testOpts...)
	tsa := sign.NewTimestampAuthority(&sign.TimestampAuthorityOptions{URL: s.TSAURL})
	for b.Loop() {
		signer, err := NewKeylessSigner(s.FulcioURL, ghToken(s, ""))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Sign(ctx, st, signer, WithTimestampAuthority(tsa)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkKeySign(b *testing.B) {
	privPEM, _, _ := GenerateKey(ECDSAP256, nil)
	priv, _ := ParsePrivateKey(privPEM, nil)
	signer, _ := NewKeySigner(priv)
	st, _ := Provenance(testResult(), testBuilderID, testOpts...)
	for b.Loop() {
		if _, err := Sign(context.Background(), st, signer); err != nil {
			b.Fatal(err)
		}
	}
}
