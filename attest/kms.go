package attest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/kms"
	"github.com/sigstore/sigstore/pkg/signature/options"

	"github.com/slsabox/slsabox/internal/hint"
)

// kmsSigner signs with a key that never leaves a KMS.
type kmsSigner struct {
	sv      kmsKey
	pub     crypto.PublicKey
	details signature.AlgorithmDetails
	hint    []byte
}

var _ Signer = (*kmsSigner)(nil)

// shippedPlugins are the schemes slsabox has plugin programs for (cmd/sigstore-kms-*).
var shippedPlugins = []string{"awskms", "gcpkms", "azurekms", "hashivault"}

// kmsScheme is what a plugin name may hold: it becomes part of a file name.
var kmsScheme = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`) })

// loadKMSSigner opens the KMS key named by ref: through a provider linked into the
// program (package attest/kms links awskms://, gcpkms://, azurekms:// and
// hashivault://), else through the KMS plugin program sigstore-kms-SCHEME (the slsabox
// command links no cloud SDK and runs cmd/sigstore-kms-*), found beside the program or
// on PATH and checked by findKMSPlugin. Only ECDSA keys are supported: KMSs sign
// digests, and DSSE with ECDSA P-256/P-384 is what every verifier accepts.
func loadKMSSigner(ctx context.Context, scheme, ref string) (Signer, error) {
	if slices.Contains(kms.SupportedProviders(), scheme+"://") {
		sv, err := kms.Get(ctx, ref, crypto.SHA256)
		if err != nil {
			return nil, fmt.Errorf("%w: opening %s: %w", ErrSign, ref, err)
		}
		return newKMSSigner(ctx, sv)
	}
	if !kmsScheme().MatchString(scheme) {
		return nil, fmt.Errorf("%w: %q is not a KMS scheme (lowercase letters, digits and '-')", ErrKey, scheme)
	}
	path, err := findKMSPlugin(scheme)
	switch {
	case errors.Is(err, errNoPlugin) && slices.Contains(shippedPlugins, scheme):
		return nil, hint.Wrapf(fmt.Errorf("%w: %w", ErrKey, err),
			"install the plugin beside slsabox (`make build` puts it in bin/) or in a directory on PATH: "+
				"`go install github.com/slsabox/slsabox/cmd/sigstore-kms-%s@VERSION`", scheme)
	case errors.Is(err, errNoPlugin):
		return nil, hint.Wrapf(fmt.Errorf("%w: no KMS provider for %s://: %w", ErrKey, scheme, err),
			"slsabox ships plugins for awskms, gcpkms, azurekms and hashivault; for %s:// install a sigstore KMS plugin named sigstore-kms-%s", scheme, scheme)
	case err != nil:
		return nil, hint.Wrap(fmt.Errorf("%w: refusing to run the KMS plugin for %s://: %w", ErrKey, scheme, err),
			"keep the plugin where only root or the user running slsabox can write (`chmod go-w` the file and its directories), e.g. beside slsabox or in /usr/local/bin")
	}
	return newKMSSigner(ctx, &pluginKey{path: path, keyRef: strings.TrimPrefix(ref, scheme+"://"), hash: crypto.SHA256})
}

func newKMSSigner(ctx context.Context, sv kmsKey) (Signer, error) {
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
