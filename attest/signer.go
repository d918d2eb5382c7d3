package attest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/youmark/pkcs8"
)

// Signer signs the DSSE envelope of a bundle. A key signer puts only a hint of its
// public key in the bundle; a keyless signer (see CertifyingSigner) adds a certificate.
type Signer interface {
	sign.Keypair
}

// CertifyingSigner is a Signer whose public key is vouched for by a certificate
// (Fulcio, for keyless signing). Sign adds the certificate to the bundle.
type CertifyingSigner interface {
	Signer
	CertificateProvider() (sign.CertificateProvider, *sign.CertificateProviderOptions)
}

// PassphraseEnv names the environment variable that holds the passphrase of an encrypted key.
const PassphraseEnv = "SLSABOX_KEY_PASSWORD"

// keySigner signs with a private key held in memory.
type keySigner struct {
	priv    crypto.Signer
	details signature.AlgorithmDetails
	hint    []byte
}

var _ Signer = (*keySigner)(nil)

// NewKeySigner wraps an ECDSA P-256/P-384 or Ed25519 private key.
func NewKeySigner(priv crypto.PrivateKey) (Signer, error) {
	var signer crypto.Signer
	switch k := priv.(type) {
	case *ecdsa.PrivateKey:
		signer = k
	case ed25519.PrivateKey:
		signer = k
	case *ed25519.PrivateKey:
		signer = *k
	default:
		return nil, fmt.Errorf("%w: %T keys are not supported; use ECDSA P-256 or Ed25519 (slsabox keygen)", ErrKey, priv)
	}
	details, hint, err := keyDetails(signer.Public())
	if err != nil {
		return nil, err
	}
	return &keySigner{priv: signer, details: details, hint: hint}, nil
}

// keyDetails returns the signing algorithm for a public key and its hint, the base64
// sha256 of its DER form (what a bundle names a key by).
func keyDetails(pub crypto.PublicKey) (signature.AlgorithmDetails, []byte, error) {
	var alg protocommon.PublicKeyDetails
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			alg = protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256
		case elliptic.P384():
			alg = protocommon.PublicKeyDetails_PKIX_ECDSA_P384_SHA_384
		default:
			return signature.AlgorithmDetails{}, nil, fmt.Errorf("%w: ECDSA curve %s is not supported; use P-256", ErrKey, k.Curve.Params().Name)
		}
	case ed25519.PublicKey:
		alg = protocommon.PublicKeyDetails_PKIX_ED25519
	default:
		return signature.AlgorithmDetails{}, nil, fmt.Errorf("%w: %T keys are not supported; use ECDSA P-256 or Ed25519", ErrKey, pub)
	}
	details, err := signature.GetAlgorithmDetails(alg)
	if err != nil {
		return signature.AlgorithmDetails{}, nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return signature.AlgorithmDetails{}, nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	sum := sha256.Sum256(der)
	return details, []byte(base64.StdEncoding.EncodeToString(sum[:])), nil
}

func (k *keySigner) GetHashAlgorithm() protocommon.HashAlgorithm { return k.details.GetProtoHashType() }
func (k *keySigner) GetSigningAlgorithm() protocommon.PublicKeyDetails {
	return k.details.GetSignatureAlgorithm()
}
func (k *keySigner) GetHint() []byte                { return k.hint }
func (k *keySigner) GetPublicKey() crypto.PublicKey { return k.priv.Public() }
func (k *keySigner) GetKeyAlgorithm() string {
	if k.details.GetKeyType() == signature.ED25519 {
		return "ED25519"
	}
	return "ECDSA"
}

func (k *keySigner) GetPublicKeyPem() (string, error) {
	b, err := cryptoutils.MarshalPublicKeyToPEM(k.priv.Public())
	return string(b), err
}

// SignData signs data (the DSSE pre-authentication encoding) and returns the signature
// and what was signed: a digest, except for pure Ed25519, which hashes internally.
func (k *keySigner) SignData(_ context.Context, data []byte) ([]byte, []byte, error) {
	hf := k.details.GetHashType()
	msg := data
	if hf != crypto.Hash(0) {
		h := hf.New()
		h.Write(data)
		msg = h.Sum(nil)
	}
	sig, err := k.priv.Sign(rand.Reader, msg, hf)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: signing: %w", ErrKey, err)
	}
	return sig, msg, nil
}

// LoadSigner reads the signing key named by ref: a PEM file (PKCS#8, SEC 1 EC, an
// encrypted PKCS#8 or cosign key, whose passphrase is read from $SLSABOX_KEY_PASSWORD),
// or a KMS URI (awskms://, gcpkms://, azurekms://, hashivault://).
func LoadSigner(ctx context.Context, ref string) (Signer, error) {
	if ref == "" {
		return nil, fmt.Errorf("%w: no key given", ErrKey)
	}
	if scheme, _, ok := strings.Cut(ref, "://"); ok {
		return loadKMSSigner(ctx, scheme, ref)
	}
	b, err := os.ReadFile(ref)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	priv, err := ParsePrivateKey(b, func() ([]byte, error) {
		p, ok := os.LookupEnv(PassphraseEnv)
		if !ok {
			return nil, fmt.Errorf("%w: %s is encrypted: set %s to its passphrase", ErrPassphrase, ref, PassphraseEnv)
		}
		return []byte(p), nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", ref, err)
	}
	return NewKeySigner(priv)
}

// ParsePrivateKey decodes a PEM private key. passphrase is called only for encrypted keys.
func ParsePrivateKey(pemBytes []byte, passphrase func() ([]byte, error)) (crypto.PrivateKey, error) {
	block, rest := pem.Decode(pemBytes)
	if block == nil {
		return nil, fmt.Errorf("%w: not a PEM file", ErrKey)
	}
	if strings.TrimSpace(string(rest)) != "" {
		return nil, fmt.Errorf("%w: more than one PEM block; keep only the private key", ErrKey)
	}
	pf := func(bool) ([]byte, error) { return passphrase() }
	switch block.Type {
	case "PRIVATE KEY", "EC PRIVATE KEY":
		pf = nil
	case "ENCRYPTED PRIVATE KEY", "ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY":
	case "PUBLIC KEY", "CERTIFICATE":
		return nil, fmt.Errorf("%w: this is a %s; signing needs the private key (the .key file of slsabox keygen)", ErrKey, strings.ToLower(block.Type))
	default:
		return nil, fmt.Errorf("%w: PEM type %q is not a supported private key", ErrKey, block.Type)
	}
	priv, err := cryptoutils.UnmarshalPEMToPrivateKey(pemBytes, pf)
	if err != nil {
		if errors.Is(err, ErrPassphrase) {
			return nil, err
		}
		if pf != nil {
			return nil, fmt.Errorf("%w: cannot decrypt the key (wrong passphrase?): %w", ErrPassphrase, err)
		}
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	return priv, nil
}

// KeyAlgorithm names a key type for GenerateKey.
type KeyAlgorithm string

// Key algorithms GenerateKey makes.
const (
	ECDSAP256 KeyAlgorithm = "ecdsa-p256"
	Ed25519   KeyAlgorithm = "ed25519"
)

// GenerateKey makes a key pair and returns the private key as PKCS#8 PEM (encrypted
// with PBES2, AES-256 and PBKDF2 when passphrase is not empty) and the public key as
// PKIX PEM.
func GenerateKey(alg KeyAlgorithm, passphrase []byte) (privPEM, pubPEM []byte, err error) {
	var priv crypto.Signer
	switch alg {
	case ECDSAP256, "":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case Ed25519:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, nil, fmt.Errorf("%w: unknown algorithm %q: use %s or %s", ErrKey, alg, ECDSAP256, Ed25519)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	var block *pem.Block
	if len(passphrase) > 0 {
		der, err := pkcs8.MarshalPrivateKey(priv, passphrase, nil)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrKey, err)
		}
		block = &pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: der}
	} else {
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrKey, err)
		}
		block = &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	}
	pubPEM, err = cryptoutils.MarshalPublicKeyToPEM(priv.Public())
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	return pem.EncodeToMemory(block), pubPEM, nil
}
