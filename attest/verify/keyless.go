package verify

import (
	"errors"
	"fmt"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
)

// initKeyless readies v for keyless bundles, whose certificates chain to a Fulcio CA
// of tr: New calls it when the trusted root names one.
func (v *Verifier) initKeyless(tr *root.TrustedRoot) error {
	// Rekor v2 entries carry no integrated time: the signing time then comes from an
	// RFC 3161 timestamp, and a certificate (valid for minutes) is checked at that time.
	opts := []sgverify.VerifierOption{sgverify.WithObserverTimestamps(1)}
	if v.logged {
		opts = append(opts, sgverify.WithTransparencyLog(1))
	} else {
		opts = []sgverify.VerifierOption{sgverify.WithSignedTimestamps(1)}
	}
	// Certificates must have been made public in a CT log, as cosign requires, whenever
	// the trusted root names one (the public-good root does).
	if len(tr.CTLogs()) > 0 {
		opts = append(opts, sgverify.WithSignedCertificateTimestamps(1))
	} else {
		v.certWarn = append(v.certWarn, "certificate transparency not checked: the trusted root names no CT log")
	}
	var err error
	v.cert, err = sgverify.NewVerifier(tr, opts...)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrTrustMaterial, err)
	}
	// An unlogged bundle's signature is still checked (at its RFC 3161 time), so that the
	// report fails the transparency log check, not the signature.
	noLogOpts := []sgverify.VerifierOption{sgverify.WithSignedTimestamps(1)}
	if len(tr.CTLogs()) > 0 {
		noLogOpts = append(noLogOpts, sgverify.WithSignedCertificateTimestamps(1))
	}
	v.certNoLog, err = sgverify.NewVerifier(tr, noLogOpts...)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrTrustMaterial, err)
	}
	return nil
}

// signedBy verifies the bundle's signature, over what artifact says is signed
// (sigstore-go's artifact policy), with the trusted key or, for a bundle carrying a
// certificate, the trusted Fulcio CA at the signing time; the identity is checked apart
// (checkIdentity, certIdentity), so that the report shows a good signature by the
// wrong identity as such. wantCert says a certificate identity is expected, which a
// key-signed bundle cannot meet. It returns sigstore-go's result and, for the report,
// by whom the signature was made.
func (v *Verifier) signedBy(b *bundle.Bundle, artifact sgverify.ArtifactPolicyOption, wantCert bool) (*sgverify.VerificationResult, string, error) {
	vc, err := b.VerificationContent()
	if err != nil {
		return nil, "", err
	}
	switch {
	case vc.Certificate() != nil:
		res, err := v.verifyCertificate(b, artifact)
		if err != nil {
			return nil, "", err
		}
		return res, "by a certificate from the trusted Fulcio CA, valid" + signingTime(res), nil
	case wantCert:
		return nil, "", errors.New("the bundle is signed with a key, not a certificate, and a certificate identity was given: verify it with the signer's public key (--key) and no certificate identity")
	case v.sig == nil:
		return nil, "", errors.New("the bundle is signed with a key, not a certificate: verify it with the signer's public key (--key)")
	}
	res, err := v.sig.Verify(b, sgverify.NewPolicy(artifact, sgverify.WithKey()))
	if err != nil {
		return nil, "", err
	}
	return res, "by the trusted key", nil
}

// verifyCertificate checks a keyless bundle's signature and certificate chain at its
// signing time.
func (v *Verifier) verifyCertificate(b *bundle.Bundle, artifact sgverify.ArtifactPolicyOption) (*sgverify.VerificationResult, error) {
	if v.cert == nil {
		return nil, fmt.Errorf("the bundle is signed keyless (it carries a certificate), and the trusted root (%s) names no certificate authority (Fulcio): give the trusted root of the Sigstore instance that issued it", v.rootName)
	}
	vm := b.GetVerificationMaterial()
	hasIntegrated := false
	for _, e := range vm.GetTlogEntries() {
		hasIntegrated = hasIntegrated || (e.GetIntegratedTime() != 0 && e.GetInclusionPromise() != nil)
	}
	if len(vm.GetTimestampVerificationData().GetRfc3161Timestamps()) == 0 && !hasIntegrated {
		return nil, errors.New("the bundle has no RFC 3161 timestamp and no log integrated time: the short-lived certificate cannot be checked against the signing time")
	}
	sv := v.cert
	if len(vm.GetTlogEntries()) == 0 {
		sv = v.certNoLog
	}
	return sv.Verify(b, sgverify.NewPolicy(artifact, sgverify.WithoutIdentitiesUnsafe()))
}

// signingTime says when a keyless signature was made, for the report.
func signingTime(res *sgverify.VerificationResult) string {
	if len(res.VerifiedTimestamps) == 0 {
		return ""
	}
	ts := res.VerifiedTimestamps[0]
	kind := "RFC 3161 timestamp"
	if ts.Type != "TimestampAuthority" {
		kind = "log integrated time"
	}
	return fmt.Sprintf(" at %s (%s)", ts.Timestamp.UTC().Format("2006-01-02T15:04:05Z"), kind)
}

// checkIdentity records the identity checks of a keyless bundle whose signature
// verified: the certificate against the policy's identity id (certID is its matcher),
// and against the provenance.
func checkIdentity(b *bundle.Bundle, st *statement, id *Identity, certID *sgverify.CertificateIdentity, results map[string]result) {
	var sum *certificate.Summary
	results[CheckCertIdentity], sum = certIdentity(b, id, certID)
	if sum == nil {
		results[CheckCertSource] = results[CheckCertIdentity]
		return
	}
	results[CheckCertSource] = crossCheck(sum, st)
}

// certIdentity checks the certificate of a keyless bundle against id (certID is its
// matcher) and returns the certificate's summary, nil when it cannot be read.
func certIdentity(b *bundle.Bundle, id *Identity, certID *sgverify.CertificateIdentity) (result, *certificate.Summary) {
	sum, err := summary(b)
	if err != nil {
		return fail(ErrIdentity, err), nil
	}
	if err := certID.Verify(*sum); err != nil {
		return failf(ErrIdentity, "%w (certificate: SAN %s, issuer %s)", err,
			quote(sum.SubjectAlternativeName), quote(sum.Extensions.Issuer)), sum
	}
	return id.check(sum), sum
}

func summary(b *bundle.Bundle) (*certificate.Summary, error) {
	vc, err := b.VerificationContent()
	if err != nil || vc.Certificate() == nil {
		return nil, errors.New("the bundle carries no certificate")
	}
	sum, err := certificate.SummarizeCertificate(vc.Certificate())
	if err != nil {
		return nil, err
	}
	return &sum, nil
}
