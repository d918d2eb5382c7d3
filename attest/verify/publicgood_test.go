package verify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// TestPublicGoodTrustedRoot checks that the embedded root is the pinned file and
// holds the keys of Sigstore's public-good Rekor and Fulcio.
func TestPublicGoodTrustedRoot(t *testing.T) {
	sum := sha256.Sum256(publicGoodRootJSON)
	if got := hex.EncodeToString(sum[:]); got != publicGoodRootSHA256 {
		t.Fatalf("embedded root sha256 %s, pinned %s: run go generate ./attest/verify", got, publicGoodRootSHA256)
	}
	tr, err := PublicGoodTrustedRoot()
	if err != nil {
		t.Fatal(err)
	}
	// rekor.sigstore.dev's log id, as cosign and the Sigstore clients know it.
	id, _ := base64.StdEncoding.DecodeString("wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0=")
	log, ok := tr.RekorLogs()[hex.EncodeToString(id)]
	if !ok {
		t.Fatalf("no rekor.sigstore.dev log; logs: %v", tr.RekorLogs())
	}
	if log.BaseURL != "https://rekor.sigstore.dev" {
		t.Errorf("log url %s", log.BaseURL)
	}
	pub, ok := log.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Fatalf("log key %T, want ECDSA P-256", log.PublicKey)
	}
	der, _ := x509.MarshalPKIXPublicKey(pub)
	if keyID := sha256.Sum256(der); hex.EncodeToString(keyID[:]) != hex.EncodeToString(id) {
		t.Error("the log key does not hash to the log id")
	}
	var fulcio int
	for _, ca := range tr.FulcioCertificateAuthorities() {
		if f, ok := ca.(*root.FulcioCertificateAuthority); ok && f.URI == "https://fulcio.sigstore.dev" &&
			f.Root != nil && f.Root.Subject.CommonName == "sigstore" {
			fulcio++
		}
	}
	if fulcio < 2 {
		t.Errorf("%d Fulcio authorities, want the 2 of fulcio.sigstore.dev", fulcio)
	}
	if tr2, _ := PublicGoodTrustedRoot(); tr2 != tr {
		t.Error("the root is parsed again on every call")
	}
	// The verifier takes it as its trust root.
	v, err := New(WithPublicKey(newKey(t).pub), WithPublicGoodTrustedRoot())
	if err != nil {
		t.Fatal(err)
	}
	if v.TrustedRoot() == "" {
		t.Error("verifier does not say which root it trusts")
	}
}
