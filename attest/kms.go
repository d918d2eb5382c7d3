package attest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"slices"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/kms"
	"github.com/sigstore/sigstore/pkg/signature/options"

	"github.com/slsabox/slsabox/internal/hint"
)

// kmsSigner signs with a key that never leaves a KMS.
type kmsSigner struct {
	sv      kms.SignerVerifier
	pub     crypto.PublicKey
	details signature.AlgorithmDetails
	hint    []byte
}

var _ Signer = (*kmsSigner)(nil)

// loadKMSSigner opens the KMS key named by ref through sigstore's kms package: a
// provider linked into the program (package attest/kms links awskms://, gcpkms://,
// azurekms:// and hashivault://), else the KMS plugin program sigstore-kms-SCHEME on
// PATH (the slsabox command links none and runs cmd/sigstore-kms-*). Only ECDSA keys
// are supported: KMSs sign digests, and DSSE with ECDSA P-256/P-384 is what every
// verifier accepts.
func loadKMSSigner(ctx context.Context, scheme, ref string) (Signer, error) {
	if !slices.Contains(kms.SupportedProviders(), scheme+"://") {
		if err := checkKMSPlugin(scheme); err != nil {
			return nil, hint.Wrap(fmt.Errorf("%w: refusing to run the KMS plugin for %s://: %w", ErrKey, scheme, err),
				"install the plugin where only root (or the user running slsabox) can write, e.g. /usr/local/bin, and put that directory on PATH")
		}
	}
	sv, err := kms.Get(ctx, ref, crypto.SHA256)
	if err != nil {
		var nf *kms.ProviderNotFoundError
		if errors.As(err, &nf) {
			return nil, hint.Wrapf(fmt.Errorf("%w: no KMS provider for %s://: the plugin program sigstore-kms-%s is not on PATH", ErrKey, scheme, scheme),
				"install it beside slsabox: `go install github.com/slsabox/slsabox/cmd/sigstore-kms-%s@VERSION` (or `make build`, which puts it in bin/), "+
					"and put that directory on PATH; slsabox ships plugins for awskms, gcpkms, azurekms and hashivault", scheme)
		}
		return nil, fmt.Errorf("%w: opening %s: %w", ErrSign, ref, err)
	}
	return newKMSSigner(ctx, sv)
}

func newKMSSigner(ctx context.Context, sv kms.SignerVerifier) (Signer, error) {
	pub, err := sv.PublicKey(options.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("%w: reading the KMS public key: %w", ErrSign, err)
	}
	if _, ok := pub.(*ecdsa.PublicKey); !ok {
		return nil, fmt.Errorf("%w: the KMS key is %T; use an ECDSA P-256 key", ErrKey, pub)
	}
	details, hint, err := keyDetails(pub)
	if err != nil {
		return nil, err
	}
	return &kmsSigner{sv: sv, pub: pub, details: details, hint: hint}, nil
}

func (k *kmsSigner) GetHashAlgorithm() protocommon.HashAlgorithm { return k.details.GetProtoHashType() }
func (k *kmsSigner) GetSigningAlgorithm() protocommon.PublicKeyDetails {
	return k.details.GetSignatureAlgorithm()
}
func (k *kmsSigner) GetHint() []byte                { return k.hint }
func (k *kmsSigner) GetKeyAlgorithm() string        { return "ECDSA" }
func (k *kmsSigner) GetPublicKey() crypto.PublicKey { return k.pub }
func (k *kmsSigner) GetPublicKeyPem() (string, error) {
	b, err := cryptoutils.MarshalPublicKeyToPEM(k.pub)
	return string(b), err
}

// SignData sends the digest of data to the KMS and returns the signature and the digest.
func (k *kmsSigner) SignData(ctx context.Context, data []byte) ([]byte, []byte, error) {
	h := k.details.GetHashType().New()
	h.Write(data)
	digest := h.Sum(nil)
	sig, err := k.sv.SignMessage(bytes.NewReader(data), options.WithContext(ctx), options.WithDigest(digest), options.WithCryptoSignerOpts(k.details.GetHashType()))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: the KMS did not sign: %w", ErrSign, err)
	}
	return sig, digest, nil
}
