package attest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"
)

// FuzzParsePrivateKey: any input is either refused with ErrKey/ErrPassphrase, or gives a
// key that signs and whose signature verifies.
func FuzzParsePrivateKey(f *testing.F) {
	for _, alg := range []KeyAlgorithm{ECDSAP256, Ed25519} {
		k, pub, _ := GenerateKey(alg, nil)
		f.Add(k)
		f.Add(pub)
		ek, _, _ := GenerateKey(alg, []byte("pw"))
		f.Add(ek)
	}
	f.Add([]byte("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		priv, err := ParsePrivateKey(data, func() ([]byte, error) { return []byte("pw"), nil })
		if err != nil {
			if !errors.Is(err, ErrKey) && !errors.Is(err, ErrPassphrase) {
				t.Fatalf("error without a class: %v", err)
			}
			return
		}
		s, err := NewKeySigner(priv)
		if err != nil {
			if !errors.Is(err, ErrKey) {
				t.Fatalf("error without a class: %v", err)
			}
			return
		}
		if _, _, err := s.SignData(context.Background(), []byte("payload")); err != nil {
			t.Fatalf("a parsed key cannot sign: %v", err)
		}
	})
}

// FuzzBundleTamper starts from a real signed bundle and mutates its JSON. Whatever
// still parses must round-trip, and must not verify unless it is the same bundle.
func FuzzBundleTamper(f *testing.F) {
	privPEM, _, _ := GenerateKey(ECDSAP256, nil)
	priv, _ := ParsePrivateKey(privPEM, nil)
	signer, _ := NewKeySigner(priv)
	artifact := []byte("the artifact")
	sum := sha256.Sum256(artifact)
	res := testResult()
	res.Subjects = []Subject{{Name: "a", SHA256: hexOf(sum[:])}}
	st, _ := Provenance(res, testBuilderID, testOpts...)
	b, err := Sign(context.Background(), st, signer)
	if err != nil {
		f.Fatal(err)
	}
	orig, _ := MarshalBundle(b)
	f.Add(orig, uint(0), byte(0))
	f.Add(orig, uint(100), byte('A'))
	f.Add(orig, uint(len(orig)/2), byte('x'))
	f.Fuzz(func(t *testing.T, data []byte, pos uint, val byte) {
		if len(data) > 0 {
			data = bytes.Clone(data)
			data[int(pos%uint(len(data)))] ^= val
		}
		got, err := ParseBundle(data)
		if err != nil {
			return
		}
		again, err := MarshalBundle(got)
		if err != nil {
			t.Fatalf("a parsed bundle does not marshal: %v", err)
		}
		if _, err := ParseBundle(again); err != nil {
			t.Fatalf("round trip fails: %v", err)
		}
		verr := verifyBundle(t, got, signer.GetPublicKey(), artifact)
		same := proto.Equal(got.GetDsseEnvelope(), b.GetDsseEnvelope())
		if verr == nil && !same {
			t.Fatalf("a tampered envelope verified")
		}
	})
}
