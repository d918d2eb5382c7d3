package attest

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/signature"
)

// Public-good Sigstore services, the keyless defaults.
const (
	PublicFulcioURL = "https://fulcio.sigstore.dev"
	PublicTSAURL    = "https://timestamp.sigstore.dev/api/v1/timestamp"
)

// KeylessSigner signs with an ephemeral ECDSA P-256 key that lives only in memory,
// vouched for by a short-lived Fulcio certificate issued for the OIDC identity of the
// token source. Each KeylessSigner is one key: make one per signing.
type KeylessSigner struct {
	*keySigner
	provider *fulcioProvider
}

var _ CertifyingSigner = (*KeylessSigner)(nil)

// KeylessOption configures a KeylessSigner. It rejects a bad value with an ErrKey
// error, and NewKeylessSigner fails with it.
type KeylessOption func(*KeylessSigner) error

// WithFulcioTimeout bounds each request to Fulcio (default 30s).
func WithFulcioTimeout(d time.Duration) KeylessOption {
	return func(k *KeylessSigner) error {
		if d <= 0 {
			return fmt.Errorf("%w: fulcio timeout %s: give a positive duration", ErrKey, d)
		}
		k.provider.timeout = d
		return nil
	}
}

// NewKeylessSigner makes the ephemeral key. The token is fetched, and the certificate
// requested, only when signing, so that a long build does not outlive the token.
func NewKeylessSigner(fulcioURL string, tokens TokenSource, opts ...KeylessOption) (*KeylessSigner, error) {
	if fulcioURL == "" {
		return nil, fmt.Errorf("%w: no Fulcio URL", ErrKey)
	}
	if tokens == nil {
		return nil, fmt.Errorf("%w: no identity token source", ErrIdentityToken)
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	s, err := NewKeySigner(priv)
	if err != nil {
		return nil, err
	}
	k := &KeylessSigner{keySigner: s.(*keySigner), provider: &fulcioProvider{url: fulcioURL, tokens: tokens, timeout: 30 * time.Second}}
	for _, o := range opts {
		if err := o(k); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// GetHint is empty: a certificate, not a key hint, names the key.
func (k *KeylessSigner) GetHint() []byte { return nil }

// CertificateProvider asks Fulcio for the certificate when the bundle is made.
func (k *KeylessSigner) CertificateProvider() (sign.CertificateProvider, *sign.CertificateProviderOptions) {
	return k.provider, &sign.CertificateProviderOptions{}
}

// Certificate asks Fulcio for the certificate now (once: the bundle then carries the
// same one), so that the provenance can name the identity it proves before it is
// signed. Call it at signing time: the token and the certificate are short-lived.
func (k *KeylessSigner) Certificate(ctx context.Context) (*x509.Certificate, error) {
	der, err := k.provider.GetCertificate(ctx, k, nil)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: the certificate from %s: %w", ErrCertificateRefused, k.provider.url, err)
	}
	return cert, nil
}

// CertificateIdentity is the identity a certificate proves: its subject alternative
// name as verifiers read it (for GitHub Actions https://github.com/{job_workflow_ref}),
// else Fulcio's Build Signer URI extension; "" when it has neither. A keyless slsabox
// provenance names it as its builder id, and verify checks that they are equal.
func CertificateIdentity(cert *x509.Certificate) string {
	sum, err := certificate.SummarizeCertificate(cert)
	if err != nil {
		return ""
	}
	return cmp.Or(sum.SubjectAlternativeName, sum.Extensions.BuildSignerURI)
}

// FulcioURL is where the certificate comes from.
func (k *KeylessSigner) FulcioURL() string { return k.provider.url }

type fulcioProvider struct {
	url     string
	tokens  TokenSource
	timeout time.Duration
	mu      sync.Mutex
	der     []byte // the certificate, once issued: one key, one certificate
}

var fulcioStatusRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^Fulcio returned (\d{3}): `) })

// GetCertificate fetches the identity token, then the certificate, and sorts the
// failures: a token that cannot be had, Fulcio refusing, Fulcio unreachable.
func (p *fulcioProvider) GetCertificate(ctx context.Context, kp sign.Keypair, _ *sign.CertificateProviderOptions) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.der != nil {
		return p.der, nil
	}
	der, err := p.issue(ctx, kp)
	if err == nil {
		p.der = der
	}
	return der, err
}

func (p *fulcioProvider) issue(ctx context.Context, kp sign.Keypair) ([]byte, error) {
	tok, err := p.tokens.Token(ctx)
	if err != nil {
		return nil, err
	}
	f := sign.NewFulcio(&sign.FulcioOptions{BaseURL: p.url, Timeout: p.timeout, Retries: 2})
	der, err := f.GetCertificate(ctx, kp, &sign.CertificateProviderOptions{IDToken: tok})
	if err == nil {
		return der, nil
	}
	if m := fulcioStatusRE().FindStringSubmatch(err.Error()); m != nil {
		if code, _ := strconv.Atoi(m[1]); code >= 400 && code < 500 && code != 408 && code != 429 {
			return nil, fmt.Errorf("%w: %s: %w", ErrCertificateRefused, p.url, err)
		}
	}
	// Everything else (no connection, a timeout, 5xx after retries) may pass: try again.
	return nil, fmt.Errorf("%w: %s: %w", ErrCertificateUnavailable, p.url, err)
}

// SignerPEM is what a transparency log needs to check a bundle's signature: the
// certificate of a keyless bundle, else the signer's public key.
// A nil signer is allowed for a keyless bundle (slsabox upload has no key then).
func SignerPEM(b *bundle.Bundle, s Signer) ([]byte, error) {
	if c := b.GetVerificationMaterial().GetCertificate(); c != nil {
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.GetRawBytes()}), nil
	}
	if s == nil {
		return nil, fmt.Errorf("%w: the bundle is signed with a key: pass that key", ErrKey)
	}
	pub, err := s.GetPublicKeyPem()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	return []byte(pub), nil
}

// verifySignatureWithCert checks that the bundle carries this certificate and that
// its envelope is signed by the certificate's key (before logging a keyless bundle).
func verifySignatureWithCert(b *bundle.Bundle, der []byte) error {
	c := b.GetVerificationMaterial().GetCertificate()
	if c == nil || !bytes.Equal(c.GetRawBytes(), der) {
		return fmt.Errorf("%w: the bundle does not carry this certificate", ErrWrongKey)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("%w: the bundle's certificate: %w", ErrKey, err)
	}
	env := b.GetDsseEnvelope()
	if env == nil || len(env.GetSignatures()) != 1 {
		return fmt.Errorf("%w: the bundle holds no DSSE envelope with one signature", ErrWrongKey)
	}
	v, err := signature.LoadDefaultVerifier(cert.PublicKey)
	if err != nil {
		return fmt.Errorf("%w: the certificate's key: %w", ErrKey, err)
	}
	pae := dssePAE(env.GetPayloadType(), env.GetPayload())
	if err := v.VerifySignature(bytes.NewReader(env.GetSignatures()[0].GetSig()), bytes.NewReader(pae)); err != nil {
		return fmt.Errorf("%w: %w", ErrWrongKey, err)
	}
	return nil
}

// dssePAE is DSSE's pre-authentication encoding, what the signature covers.
func dssePAE(payloadType string, payload []byte) []byte {
	return fmt.Appendf(nil, "DSSEv1 %d %s %d %s", len(payloadType), payloadType, len(payload), payload)
}
