package verify

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
)

// messageBundle signs data as cosign sign-blob does (a message signature over its
// sha256) with a fresh key, unlogged, and returns the bundle and the key's PEM.
func messageBundle(t *testing.T, data []byte) (*bundle.Bundle, []byte) {
	t.Helper()
	kp, err := sgsign.NewEphemeralKeypair(nil)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := sgsign.Bundle(&sgsign.PlainData{Data: data}, kp, sgsign.BundleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.NewBundle(pb)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := kp.GetPublicKeyPem()
	if err != nil {
		t.Fatal(err)
	}
	return b, []byte(pub)
}

func artifactFile(t *testing.T, data []byte) Artifact {
	t.Helper()
	p := filepath.Join(t.TempDir(), "artifact")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := ArtifactFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func mustDigest(t *testing.T, s string) Artifact {
	t.Helper()
	a, err := ArtifactDigest(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func checkNames(r *Report) string {
	var names []string
	for _, c := range r.Checks {
		names = append(names, c.Name)
	}
	return strings.Join(names, ",")
}

func TestVerifyArtifactMessageSignature(t *testing.T) {
	data := []byte("hello, conformance\n")
	b, pub := messageBundle(t, data)
	v := unlogged(t, pub)
	sum := sha256.Sum256(data)
	sum512 := sha512.Sum512(data)
	other := sha256.Sum256([]byte("another artifact"))
	for _, tc := range []struct {
		name    string
		a       Artifact
		id      *Identity
		wantErr error
	}{
		{"file", artifactFile(t, data), nil, nil},
		{"sha256 digest", mustDigest(t, "sha256:"+hex.EncodeToString(sum[:])), nil, nil},
		{"other file", artifactFile(t, []byte("another artifact")), nil, ErrDigestMismatch},
		{"other digest", mustDigest(t, "sha256:"+hex.EncodeToString(other[:])), nil, ErrDigestMismatch},
		{"sha512 digest of a sha256 signature", mustDigest(t, "SHA512:"+hex.EncodeToString(sum512[:])), nil, ErrDigestMismatch},
		{"identity for a key-signed bundle", artifactFile(t, data), &Identity{SubjectAlternativeName: testSAN, Issuer: testIssuer}, ErrSignature},
		{"incomplete identity", artifactFile(t, data), &Identity{Issuer: testIssuer}, ErrInvalidPolicy},
		{"no artifact", Artifact{}, nil, ErrInvalidPolicy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := v.VerifyArtifact(b, tc.a, tc.id)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != r.Verified {
				t.Fatalf("VerifyArtifact: verified %v, %v; want %v", r.Verified, err, tc.wantErr)
			}
			if tc.wantErr == nil && checkNames(r) != "signature,transparency log,message digest" {
				t.Errorf("checks %s", checkNames(r))
			}
		})
	}
	// Another key's signature is refused.
	_, otherPub := messageBundle(t, data)
	if _, err := unlogged(t, otherPub).VerifyArtifact(b, artifactFile(t, data), nil); !errors.Is(err, ErrSignature) {
		t.Errorf("another key: %v, want ErrSignature", err)
	}
	// A changed message digest (with the signature left as it was) is refused.
	b.GetMessageSignature().MessageDigest.Digest = other[:]
	if _, err := v.VerifyArtifact(b, mustDigest(t, "sha256:"+hex.EncodeToString(other[:])), nil); !errors.Is(err, ErrSignature) {
		t.Errorf("changed message digest: %v, want ErrSignature", err)
	}
}

// TestVerifyArtifactDSSE: a DSSE bundle signs the artifact when one of its
// statement's subjects has the artifact's digest; its predicate is not read.
func TestVerifyArtifactDSSE(t *testing.T) {
	k := newKey(t)
	b := parse(t, sign(t, k, nil))
	v := unlogged(t, k.pub)
	r, err := v.VerifyArtifact(b, mustDigest(t, "sha256:"+otherDigest), nil)
	if err != nil || checkNames(r) != "signature,transparency log,subject digest" || r.Statement == nil {
		t.Fatalf("subject of the statement: %v, checks %s", err, checkNames(r))
	}
	if c, _ := r.Check(CheckSubjectDigest); !strings.Contains(c.Detail, "sub/hello.tar.gz") {
		t.Errorf("subject digest detail %q names no subject", c.Detail)
	}
	if _, err := v.VerifyArtifact(b, mustDigest(t, "sha256:"+strings.Repeat("3", 64)), nil); !errors.Is(err, ErrDigestMismatch) {
		t.Errorf("not a subject: %v, want ErrDigestMismatch", err)
	}
	// Tampering with the envelope after signing is refused.
	b.GetDsseEnvelope().Payload = append([]byte(nil), b.GetDsseEnvelope().Payload...)
	b.GetDsseEnvelope().Payload[len(b.GetDsseEnvelope().Payload)-2] ^= 1
	if _, err := v.VerifyArtifact(b, mustDigest(t, "sha256:"+otherDigest), nil); !errors.Is(err, ErrSignature) {
		t.Errorf("tampered payload: %v, want ErrSignature", err)
	}
}

// TestVerifyArtifactKeylessNeedsIdentity: a keyless bundle is verified only against
// an identity, and a wrong one fails the identity check, not the signature.
func TestVerifyArtifactKeylessNeedsIdentity(t *testing.T) {
	f := newFakeFulcio(t)
	v, err := New(WithTrustedRoot(f.root), WithoutTransparencyLogUnsafe())
	if err != nil {
		t.Fatal(err)
	}
	b := f.sign(t, testSAN, testIssuer)
	a := mustDigest(t, "sha256:"+helloDigest)
	if _, err := v.VerifyArtifact(b, a, nil); !errors.Is(err, ErrInvalidPolicy) {
		t.Errorf("no identity: %v, want ErrInvalidPolicy", err)
	}
	r, err := v.VerifyArtifact(b, a, &Identity{SubjectAlternativeName: testSAN, Issuer: testIssuer})
	if err != nil || checkNames(r) != "signature,transparency log,subject digest,certificate identity" {
		t.Fatalf("right identity: %v, checks %s", err, checkNames(r))
	}
	r, err = v.VerifyArtifact(b, a, &Identity{SubjectAlternativeName: "https://example.org/other", Issuer: testIssuer})
	if !errors.Is(err, ErrIdentity) {
		t.Fatalf("wrong identity: %v, want ErrIdentity", err)
	}
	if c, _ := r.Check(CheckSignature); !c.OK {
		t.Errorf("wrong identity failed the signature: %+v", c)
	}
}

func TestArtifactDigest(t *testing.T) {
	for _, s := range []string{"", "sha256", "sha256:", "sha256:abc", "md5:" + strings.Repeat("0", 32),
		"sha256:" + strings.Repeat("g", 64), "sha512:" + strings.Repeat("0", 64), strings.Repeat("0", 64)} {
		if _, err := ArtifactDigest(s); !errors.Is(err, ErrInvalidPolicy) {
			t.Errorf("ArtifactDigest(%q) = %v, want ErrInvalidPolicy", s, err)
		}
	}
	if _, err := ArtifactFile(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, ErrInvalidPolicy) {
		t.Errorf("missing file: %v, want ErrInvalidPolicy", err)
	}
}

// TestPromiseOnlyNeedsV01: a log entry with the log's signed promise and no inclusion
// proof is accepted in a v0.1 bundle only. sigstore-go's parser refuses it in later
// versions, but a library caller may build a bundle in memory that never went through
// the parser: relabelled v0.3, the same bundle must fail the log check.
func TestPromiseOnlyNeedsV01(t *testing.T) {
	dir := filepath.Join("..", "..", "internal", "conformance", "testdata", "bundle-verify")
	data, err := os.ReadFile(filepath.Join(dir, "happy-path-v0.1", "bundle.sigstore.json"))
	if err != nil {
		t.Fatal(err)
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON(data); err != nil {
		t.Fatal(err)
	}
	b.VerificationMaterial.TlogEntries[0].InclusionProof = nil
	v, err := New(WithPublicGoodTrustedRoot())
	if err != nil {
		t.Fatal(err)
	}
	a, err := ArtifactFile(filepath.Join(dir, "a.txt"))
	if err != nil {
		t.Fatal(err)
	}
	id := &Identity{
		SubjectAlternativeName: "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main",
		Issuer:                 "https://token.actions.githubusercontent.com",
	}
	if r, err := v.VerifyArtifact(&b, a, id); err != nil || !r.Verified {
		t.Fatalf("promise-only v0.1 bundle: %v", err)
	}
	b.MediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	r, err := v.VerifyArtifact(&b, a, id)
	if !errors.Is(err, ErrNotLogged) || r.Verified {
		t.Fatalf("promise-only bundle labelled v0.3: %v, want ErrNotLogged", err)
	}
}
