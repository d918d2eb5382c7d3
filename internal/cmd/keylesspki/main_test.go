package main

import (
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

func TestMaterial(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	now := time.Now().UTC().Truncate(time.Second)
	if err := ensure(dir, now); err != nil {
		t.Fatal(err)
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// Fulcio's key decrypts with the password and matches the CA.
	key, err := cryptoutils.UnmarshalPEMToPrivateKey(read("fulcio-ca.key"), cryptoutils.StaticPasswordFunc(read("fulcio-ca.pass")))
	if err != nil {
		t.Fatal(err)
	}
	cas, err := cryptoutils.UnmarshalCertificatesFromPEM(read("fulcio-ca.pem"))
	if err != nil || len(cas) != 1 || !cas[0].IsCA {
		t.Fatalf("fulcio ca: %v", err)
	}
	if err := cryptoutils.EqualKeys(cas[0].PublicKey, key.(crypto.Signer).Public()); err != nil {
		t.Fatal(err)
	}
	if _, err := cryptoutils.UnmarshalPEMToPrivateKey(read("fulcio-ca.key"), cryptoutils.StaticPasswordFunc([]byte("wrong"))); err == nil {
		t.Error("the CA key decrypts with a wrong password")
	}
	// The TSA leaf chains to its root for timestamping only, with a critical EKU.
	chain, err := cryptoutils.UnmarshalCertificatesFromPEM(read("tsa-chain.pem"))
	if err != nil || len(chain) != 2 {
		t.Fatalf("tsa chain: %d certs, %v", len(chain), err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(chain[1])
	if _, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}}); err != nil {
		t.Fatal(err)
	}
	var critical bool
	for _, e := range chain[0].Extensions {
		if e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 37}) {
			critical = e.Critical
		}
	}
	if !critical || len(chain[0].ExtKeyUsage) != 1 || chain[0].ExtKeyUsage[0] != x509.ExtKeyUsageTimeStamping || chain[0].IsCA {
		t.Errorf("tsa leaf: critical EKU %v, EKUs %v, CA %v", critical, chain[0].ExtKeyUsage, chain[0].IsCA)
	}
	if b, _ := pem.Decode(read("tsa.key")); b == nil || b.Type != "PRIVATE KEY" {
		t.Error("tsa.key is not a PKCS#8 PEM")
	}

	// A second run keeps everything; a partial set is refused.
	before := read("fulcio-ca.pem")
	if err := ensure(dir, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if string(read("fulcio-ca.pem")) != string(before) {
		t.Error("a second run replaced the CA")
	}
	if err := os.Remove(filepath.Join(dir, "tsa.key")); err != nil {
		t.Fatal(err)
	}
	if err := ensure(dir, now); err == nil {
		t.Error("a partial set was accepted")
	}
}
