package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/spf13/pflag"

	"github.com/slsabox/slsabox/attest"
	"github.com/slsabox/slsabox/internal/hint"
)

// keylessFlags are build's keyless signing flags.
type keylessFlags struct {
	keyless       bool
	identityToken string
	fulcioURL     string
	tsaURL        string
}

func (k *keylessFlags) register(f *pflag.FlagSet) {
	f.BoolVar(&k.keyless, "keyless", false, "sign with a short-lived Fulcio certificate for the CI's OIDC identity instead of a key (the default in GitHub Actions with id-token: write and no --key)")
	f.StringVar(&k.identityToken, "identity-token", os.Getenv("SLSABOX_IDENTITY_TOKEN"), "OIDC ID token for --keyless outside GitHub Actions: the token or @FILE (env SLSABOX_IDENTITY_TOKEN)")
	f.StringVar(&k.fulcioURL, "fulcio-url", envOr("SLSABOX_FULCIO_URL", attest.PublicFulcioURL), "Fulcio URL for --keyless (env SLSABOX_FULCIO_URL)")
	f.StringVar(&k.tsaURL, "tsa-url", envOr("SLSABOX_TSA_URL", attest.PublicTSAURL), "RFC 3161 timestamp authority URL for --keyless (env SLSABOX_TSA_URL)")
}

// wanted says whether this build signs keyless: asked for, or in a GitHub Actions job
// that may request an ID token and was given no key.
func (k *keylessFlags) wanted(flags *pflag.FlagSet, key string, unsigned bool) bool {
	if flags.Changed("keyless") {
		return k.keyless
	}
	if key != "" || unsigned {
		return false
	}
	_, inActions := attest.GitHubActionsTokenFromEnv()
	return inActions || k.identityToken != ""
}

// signer makes the ephemeral signer and the timestamp authority.
func (k *keylessFlags) signer() (attest.Signer, []*sign.TimestampAuthority, error) {
	var tokens attest.TokenSource
	if k.identityToken != "" {
		tok, err := attest.ReadIdentityToken(k.identityToken)
		if err != nil {
			return nil, nil, usageError{err}
		}
		tokens = tok
	} else if gh, ok := attest.GitHubActionsTokenFromEnv(); ok {
		tokens = gh
	} else {
		return nil, nil, hint.Wrap(usageError{fmt.Errorf("%w: none for --keyless: %s and %s are not set and no --identity-token was given",
			attest.ErrIdentityToken, attest.GitHubTokenURLEnv, attest.GitHubTokenTokenEnv)},
			"in GitHub Actions grant the job `permissions: id-token: write`; in another CI pass --identity-token TOKEN or @FILE (audience sigstore); or sign with --key")
	}
	for name, u := range map[string]string{"--fulcio-url": k.fulcioURL, "--tsa-url": k.tsaURL} {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return nil, nil, usageError{fmt.Errorf("%s %q is not an http(s) URL", name, u)}
		}
	}
	s, err := attest.NewKeylessSigner(k.fulcioURL, tokens)
	if err != nil {
		return nil, nil, err
	}
	tsa := sign.NewTimestampAuthority(&sign.TimestampAuthorityOptions{URL: k.tsaURL, Timeout: 30 * time.Second, Retries: 2})
	return s, []*sign.TimestampAuthority{tsa}, nil
}

// keylessHint says what to do about a keyless failure, or "".
func keylessHint(err error, k *keylessFlags) string {
	switch {
	case errors.Is(err, attest.ErrCertificateRefused):
		return "Fulcio did not accept the identity token: check that it is fresh, has audience sigstore, and comes from an issuer " + k.fulcioURL + " trusts"
	case errors.Is(err, attest.ErrCertificateUnavailable):
		return "Fulcio at " + k.fulcioURL + " could not be reached; nothing was signed, run the build again later (or check --fulcio-url)"
	case errors.Is(err, attest.ErrTimestampUnavailable):
		return "the timestamp authority at " + k.tsaURL + " could not be reached; nothing was signed, run the build again later (or check --tsa-url)"
	case errors.Is(err, attest.ErrIdentityToken):
		return "in GitHub Actions grant the job `permissions: id-token: write`; elsewhere pass a fresh --identity-token"
	}
	return ""
}

// certificateIdentity names the identity a keyless bundle's certificate was issued to.
func certificateIdentity(b *bundle.Bundle) string {
	san, issuer := certificateSubject(b)
	if san == "" && issuer == "" {
		return "no readable certificate"
	}
	return fmt.Sprintf("%s, issuer %s", san, issuer)
}

// certificateSubject returns a keyless bundle's certificate SAN and OIDC issuer, what
// `slsabox verify --certificate-identity --certificate-oidc-issuer` pins; empty when
// the bundle carries no readable certificate.
func certificateSubject(b *bundle.Bundle) (san, issuer string) {
	vc, err := b.VerificationContent()
	if err != nil || vc.Certificate() == nil {
		return "", ""
	}
	sum, err := certificate.SummarizeCertificate(vc.Certificate())
	if err != nil {
		return "", ""
	}
	return sum.SubjectAlternativeName, sum.Extensions.Issuer
}
