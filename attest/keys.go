package attest

import (
	"bytes"
	"context"
	"crypto"
	"encoding/pem"
	"fmt"
	"os"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// LoadPublicKeyPEM returns the public key PEM for ref: a public key file as is, or the
// public half of a private key file or KMS key (as LoadSigner reads them).
func LoadPublicKeyPEM(ctx context.Context, ref string) ([]byte, error) {
	if b, err := os.ReadFile(ref); err == nil {
		if block, _ := pem.Decode(b); block != nil && block.Type == "PUBLIC KEY" {
			if _, err := cryptoutils.UnmarshalPEMToPublicKey(b); err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrKey, ref, err)
			}
			return b, nil
		}
	}
	s, err := LoadSigner(ctx, ref)
	if err != nil {
		return nil, err
	}
	p, err := s.GetPublicKeyPem()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	return []byte(p), nil
}

// verifySignatureWithKey checks the bundle's DSSE signature against the public key
// PEM, so that a log entry is never made for a key that did not sign.
func verifySignatureWithKey(b *bundle.Bundle, pubPEM []byte) error {
	if block, _ := pem.Decode(bytes.TrimSpace(pubPEM)); block != nil && block.Type == "CERTIFICATE" {
		return verifySignatureWithCert(b, block.Bytes)
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(bytes.TrimSpace(pubPEM))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrKey, err)
	}
	if err := verifyWithPublicKey(b, pub); err != nil {
		return fmt.Errorf("%w: %w", ErrWrongKey, err)
	}
	return nil
}

func verifyWithPublicKey(b *bundle.Bundle, pub crypto.PublicKey) error {
	v, err := signature.LoadDefaultVerifier(pub)
	if err != nil {
		return err
	}
	tm := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
		return root.NewExpiringKey(v, time.Time{}, time.Time{}), nil
	})
	sev, err := verify.NewVerifier(tm, verify.WithCurrentTime())
	if err != nil {
		return err
	}
	_, err = sev.Verify(b, verify.NewPolicy(verify.WithoutArtifactUnsafe(), verify.WithKey()))
	return err
}
