package attest

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/sigstore/sigstore/pkg/signature/kms/fake"
)

// TestKMSSigner signs through the KMS code path with sigstore's in-process fake KMS
// provider (fakekms://), and checks the bundle with sigstore-go against the KMS's key.
func TestKMSSigner(t *testing.T) {
	ctx := context.Background()
	signer, err := LoadSigner(ctx, fake.ReferenceScheme+"key")
	if err != nil {
		t.Fatal(err)
	}
	artifact := []byte("signed in a KMS")
	sum := sha256.Sum256(artifact)
	res := testResult()
	res.Subjects = []Subject{{Name: "a", SHA256: hexOf(sum[:])}}
	st, err := Provenance(res, testBuilderID, testOpts...)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Sign(ctx, st, signer)
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyBundle(t, b, signer.GetPublicKey(), artifact); err != nil {
		t.Fatalf("KMS-signed bundle does not verify: %v", err)
	}
}

func TestKMSUnknownProvider(t *testing.T) {
	_, err := LoadSigner(context.Background(), "nosuchkms://key")
	if !errors.Is(err, ErrKey) {
		t.Fatalf("err = %v, want ErrKey", err)
	}
}
