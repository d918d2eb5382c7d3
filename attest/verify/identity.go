package verify

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/slsabox/slsabox/attest/spec"
)

// ErrIdentity: the bundle's certificate was issued to another identity than the one
// trusted, or says the build ran elsewhere than the provenance claims.
var ErrIdentity = errors.New("certificate identity not trusted")

// Check names of keyless bundles (absent from the reports of key-signed ones), listed
// after the others.
const (
	CheckCertIdentity = "certificate identity"
	CheckCertSource   = "certificate matches provenance"
)

var keylessChecks = []string{CheckCertIdentity, CheckCertSource}

// Runner environments in GitHub Actions certificates (extension 1.3.6.1.4.1.57264.1.11).
const (
	RunnerGitHubHosted = "github-hosted"
	RunnerSelfHosted   = "self-hosted"
)

// Identity is who must have signed a keyless bundle: the Fulcio certificate's subject
// alternative name and OIDC issuer and, for CI certificates, the workflow's claims
// that Fulcio copied into its extensions. Empty fields are not checked, except that a
// SAN (or its regexp) and the issuer are required.
type Identity struct {
	// SubjectAlternativeName must equal the certificate's SAN; for GitHub Actions it is
	// https://github.com/OWNER/REPO/.github/workflows/FILE@REF (the job's workflow).
	SubjectAlternativeName string
	// SubjectAlternativeNameRegexp must match the whole SAN (it is anchored).
	SubjectAlternativeNameRegexp string
	// Issuer must equal the OIDC issuer, e.g. https://token.actions.githubusercontent.com.
	Issuer string

	// SourceRepositoryURI (extension .12), e.g. https://github.com/OWNER/REPO.
	SourceRepositoryURI string
	// SourceRepositoryRef (extension .14), e.g. refs/tags/v1.2.3.
	SourceRepositoryRef string
	// SourceRepositoryDigest (extension .13), the commit built.
	SourceRepositoryDigest string
	// WorkflowRef (extension .18, the top-level workflow), e.g.
	// https://github.com/OWNER/REPO/.github/workflows/release.yml@refs/tags/v1.2.3.
	WorkflowRef string
	// RunnerEnvironment (extension .11) must equal this: github-hosted or self-hosted.
	RunnerEnvironment string
	// RefuseSelfHostedRunner refuses certificates that say self-hosted (or say nothing).
	RefuseSelfHostedRunner bool
}

// WithIdentity verifies keyless bundles: the certificate must chain to a Fulcio CA of
// the trusted root (WithTrustedRootFile), at a time vouched for by an RFC 3161
// timestamp from one of its timestamp authorities (or a Rekor v1 integrated time),
// and be issued to id. It conflicts with WithPublicKey.
func WithIdentity(id Identity) Option {
	return func(c *config) { c.identity = &id }
}

func (id Identity) validate() (Identity, *regexp.Regexp, error) {
	var re *regexp.Regexp
	switch {
	case id.SubjectAlternativeName == "" && id.SubjectAlternativeNameRegexp == "":
		return id, nil, fmt.Errorf("%w: no certificate identity: give the SAN the builder's certificates carry (or a regexp)", ErrInvalidPolicy)
	case id.SubjectAlternativeName != "" && id.SubjectAlternativeNameRegexp != "":
		return id, nil, fmt.Errorf("%w: a certificate identity and an identity regexp conflict: give one", ErrInvalidPolicy)
	case id.Issuer == "":
		return id, nil, fmt.Errorf("%w: no certificate OIDC issuer: give the issuer, e.g. https://token.actions.githubusercontent.com", ErrInvalidPolicy)
	case id.RunnerEnvironment != "" && id.RunnerEnvironment != RunnerGitHubHosted && id.RunnerEnvironment != RunnerSelfHosted:
		return id, nil, fmt.Errorf("%w: runner environment %q: use %s or %s", ErrInvalidPolicy, id.RunnerEnvironment, RunnerGitHubHosted, RunnerSelfHosted)
	case id.RunnerEnvironment == RunnerSelfHosted && id.RefuseSelfHostedRunner:
		return id, nil, fmt.Errorf("%w: runner environment self-hosted and refusing self-hosted runners conflict", ErrInvalidPolicy)
	}
	if id.SubjectAlternativeNameRegexp != "" {
		var err error
		if re, err = regexp.Compile(`^(?:` + id.SubjectAlternativeNameRegexp + `)$`); err != nil {
			return id, nil, fmt.Errorf("%w: certificate identity regexp: %w", ErrInvalidPolicy, err)
		}
	}
	return id, re, nil
}

// newKeyless finishes New for a Verifier of keyless bundles.
func newKeyless(c config) (*Verifier, error) {
	id, re, err := c.identity.validate()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTrustMaterial, err)
	}
	switch {
	case c.keyPEM != nil:
		return nil, fmt.Errorf("%w: a public key and a certificate identity conflict: keyless bundles are checked by identity, key-signed ones by key", ErrTrustMaterial)
	case c.root == nil:
		return nil, fmt.Errorf("%w: no trusted root: keyless verification needs the Fulcio CA and the timestamp authority (trusted_root.json)", ErrTrustMaterial)
	case len(c.root.FulcioCertificateAuthorities()) == 0:
		return nil, fmt.Errorf("%w: the trusted root names no certificate authority (Fulcio)", ErrTrustMaterial)
	case !c.noTlog && len(c.root.RekorLogs()) == 0:
		return nil, fmt.Errorf("%w: the trusted root names no transparency log", ErrTrustMaterial)
	}
	// Rekor v2 entries carry no integrated time: the signing time then comes from an
	// RFC 3161 timestamp, and a certificate (valid for minutes) is checked at that time.
	opts := []sgverify.VerifierOption{sgverify.WithObserverTimestamps(1)}
	if !c.noTlog {
		opts = append(opts, sgverify.WithTransparencyLog(1))
	} else {
		opts = []sgverify.VerifierOption{sgverify.WithSignedTimestamps(1)}
	}
	// Certificates must have been made public in a CT log, as cosign requires, whenever
	// the trusted root names one (the public-good root does).
	var warnings []string
	if len(c.root.CTLogs()) > 0 {
		opts = append(opts, sgverify.WithSignedCertificateTimestamps(1))
	} else {
		warnings = append(warnings, "certificate transparency not checked: the trusted root names no CT log")
	}
	sv, err := sgverify.NewVerifier(c.root, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTrustMaterial, err)
	}
	san, sanRE := id.SubjectAlternativeName, ""
	if re != nil {
		sanRE = re.String()
	}
	cid, err := sgverify.NewShortCertificateIdentity(id.Issuer, "", san, sanRE)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTrustMaterial, err)
	}
	// An unlogged bundle's signature is still checked (at its RFC 3161 time), so that the
	// report fails the transparency log check, not the signature.
	noLogOpts := []sgverify.VerifierOption{sgverify.WithSignedTimestamps(1)}
	if len(c.root.CTLogs()) > 0 {
		noLogOpts = append(noLogOpts, sgverify.WithSignedCertificateTimestamps(1))
	}
	noLog, err := sgverify.NewVerifier(c.root, noLogOpts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTrustMaterial, err)
	}
	v := &Verifier{trusted: c.root, sig: sv, sigNoLog: noLog, logged: !c.noTlog, identity: &id, certID: cid, warnings: warnings,
		logs: c.root.RekorLogs(), rootName: c.rootName}
	if !v.logged {
		v.warnings = append(v.warnings, "transparency log not checked (unsafe opt-out): the signature alone does not show the signing was made public")
	}
	return v, nil
}

// verifyCertificate checks a keyless bundle's signature, certificate chain, signing
// time and identity, and returns the statement.
func (v *Verifier) verifyCertificate(b *bundle.Bundle) (*statement, string, error) {
	if v.identity == nil {
		return nil, "", errors.New("the bundle is signed keyless (it carries a certificate): verify it by identity (certificate identity and OIDC issuer), not with a key")
	}
	vm := b.GetVerificationMaterial()
	hasIntegrated := false
	for _, e := range vm.GetTlogEntries() {
		hasIntegrated = hasIntegrated || (e.GetIntegratedTime() != 0 && e.GetInclusionPromise() != nil)
	}
	if len(vm.GetTimestampVerificationData().GetRfc3161Timestamps()) == 0 && !hasIntegrated {
		return nil, "", errors.New("the bundle has no RFC 3161 timestamp and no log integrated time: the short-lived certificate cannot be checked against the signing time")
	}
	// The identity is checked apart (checkIdentity), so that the report shows a good
	// signature by the wrong identity as such.
	sv := v.sig
	if len(vm.GetTlogEntries()) == 0 {
		sv = v.sigNoLog
	}
	res, err := sv.Verify(b, sgverify.NewPolicy(sgverify.WithoutArtifactUnsafe(), sgverify.WithoutIdentitiesUnsafe()))
	if err != nil {
		return nil, "", err
	}
	if res.Statement == nil {
		return nil, "", errors.New("the envelope holds no in-toto statement")
	}
	when := ""
	if len(res.VerifiedTimestamps) > 0 {
		ts := res.VerifiedTimestamps[0]
		kind := "RFC 3161 timestamp"
		if ts.Type != "TimestampAuthority" {
			kind = "log integrated time"
		}
		when = fmt.Sprintf(" at %s (%s)", ts.Timestamp.UTC().Format("2006-01-02T15:04:05Z"), kind)
	}
	return res.Statement, "DSSE signature by a certificate from the trusted Fulcio CA, valid" + when, nil
}

// checkIdentity records the identity checks of a keyless bundle whose signature verified.
func (v *Verifier) checkIdentity(b *bundle.Bundle, st *statement, results map[string]result) {
	sum, err := summary(b)
	if err != nil {
		results[CheckCertIdentity] = fail(fmt.Errorf("%w: %w", ErrIdentity, err))
		results[CheckCertSource] = fail(fmt.Errorf("%w: %w", ErrIdentity, err))
		return
	}
	if err := v.certID.Verify(*sum); err != nil {
		results[CheckCertIdentity] = fail(fmt.Errorf("%w: %w (certificate: SAN %s, issuer %s)", ErrIdentity, err, quote(sum.SubjectAlternativeName), quote(sum.Extensions.Issuer)))
	} else {
		results[CheckCertIdentity] = v.identity.check(sum)
	}
	results[CheckCertSource] = crossCheck(sum, st, b.GetDsseEnvelope().GetPayload())
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

// check compares the certificate with the identity's expectations (SAN and issuer
// were matched by sigstore-go already; they are repeated here for the report).
func (id *Identity) check(sum *certificate.Summary) result {
	ext := sum.Extensions
	var bad []string
	want := func(name, want, got string) {
		if want != "" && want != got {
			bad = append(bad, fmt.Sprintf("%s: want %s, got %s", name, want, quote(got)))
		}
	}
	want("SAN", id.SubjectAlternativeName, sum.SubjectAlternativeName)
	want("issuer", id.Issuer, ext.Issuer)
	want("source repository", id.SourceRepositoryURI, ext.SourceRepositoryURI)
	want("source ref", id.SourceRepositoryRef, ext.SourceRepositoryRef)
	want("source digest", strings.ToLower(id.SourceRepositoryDigest), strings.ToLower(ext.SourceRepositoryDigest))
	want("workflow ref", id.WorkflowRef, ext.BuildConfigURI)
	want("runner environment", id.RunnerEnvironment, ext.RunnerEnvironment)
	if id.RefuseSelfHostedRunner && ext.RunnerEnvironment != RunnerGitHubHosted {
		bad = append(bad, fmt.Sprintf("runner environment %s: self-hosted runners are refused (a GitHub-hosted runner is required)", quote(ext.RunnerEnvironment)))
	}
	if len(bad) > 0 {
		return fail(fmt.Errorf("%w: %s", ErrIdentity, strings.Join(bad, "; ")))
	}
	detail := fmt.Sprintf("%s from %s", sum.SubjectAlternativeName, ext.Issuer)
	if ext.RunnerEnvironment != "" {
		detail += ", runner " + ext.RunnerEnvironment
	}
	return pass(detail)
}

// crossCheck requires the certificate's source repository, commit and ref to be the
// provenance's: a workflow of one repository must not vouch for a build of another.
// For slsabox's build type, the provenance's builder id must also be the identity the
// certificate proves (its SAN or Build Signer URI): otherwise any workflow the
// identity regexp admits could claim to be the builder the policy trusts. Other
// builders' provenance keeps its own convention (GitHub's names the runner).
func crossCheck(sum *certificate.Summary, st *statement, payload []byte) result {
	ext := sum.Extensions
	pred, err := provenance(st, payload)
	if err != nil {
		if ext.SourceRepositoryURI == "" {
			return skip("the certificate names no source repository (not a CI identity)")
		}
		return fail(fmt.Errorf("%w: no SLSA v1 provenance to compare: %w", ErrIdentity, err))
	}
	var bad []string
	builderID := pred.GetRunDetails().GetBuilder().GetId()
	slsaboxBuild := pred.GetBuildDefinition().GetBuildType() == spec.BuildType
	if slsaboxBuild && (builderID == "" || (builderID != sum.SubjectAlternativeName && builderID != ext.BuildSignerURI)) {
		bad = append(bad, fmt.Sprintf("builder id %s, certificate identity %s", quote(builderID), quote(sum.SubjectAlternativeName)))
	}
	if ext.SourceRepositoryURI == "" {
		if len(bad) > 0 {
			return fail(fmt.Errorf("%w: the provenance's builder is not the identity the certificate proves: %s", ErrIdentity, strings.Join(bad, "; ")))
		}
		if slsaboxBuild {
			return pass("builder id " + builderID + " is the certificate's identity (no source repository in the certificate)")
		}
		return skip("the certificate names no source repository (not a CI identity)")
	}
	source := pred.GetBuildDefinition().GetExternalParameters().GetFields()["source"].GetStructValue()
	uri, ref := str(source, "uri"), str(source, "ref")
	var commit string
	if deps := pred.GetBuildDefinition().GetResolvedDependencies(); len(deps) > 0 {
		commit = deps[0].GetDigest()["gitCommit"]
	}
	if normalizeRepo(uri) != normalizeRepo(ext.SourceRepositoryURI) {
		bad = append(bad, fmt.Sprintf("source %s, certificate %s", quote(uri), ext.SourceRepositoryURI))
	}
	if ext.SourceRepositoryDigest == "" || !strings.EqualFold(commit, ext.SourceRepositoryDigest) {
		bad = append(bad, fmt.Sprintf("commit %s, certificate %s", quote(commit), quote(ext.SourceRepositoryDigest)))
	}
	if ref != "" && ext.SourceRepositoryRef != "" && ref != ext.SourceRepositoryRef {
		bad = append(bad, fmt.Sprintf("ref %s, certificate %s", ref, ext.SourceRepositoryRef))
	}
	if len(bad) > 0 {
		return fail(fmt.Errorf("%w: the provenance's builder or source is not what the certificate's workflow is and ran on: %s", ErrIdentity, strings.Join(bad, "; ")))
	}
	if slsaboxBuild {
		return pass(fmt.Sprintf("%s at %s, built by %s", ext.SourceRepositoryURI, commit, builderID))
	}
	return pass(fmt.Sprintf("%s at %s", ext.SourceRepositoryURI, commit))
}

// normalizeRepo compares repository URIs as GitHub does: without git+, .git, a final
// slash or case.
func normalizeRepo(u string) string {
	u = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(u)), "git+")
	u = strings.TrimSuffix(strings.TrimSuffix(u, "/"), ".git")
	return u
}
