package verify

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/slsabox/slsabox/attest/spec"
)

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
//
// It is part of the Policy (Policy.CertificateIdentity), as in sigstore-go: the
// trusted root says which authorities issue certificates, the policy says to whom.
// In a policy file its fields are the yaml names below, under certificateIdentity.
type Identity struct {
	// SubjectAlternativeName must equal the certificate's SAN; for GitHub Actions it is
	// https://github.com/OWNER/REPO/.github/workflows/FILE@REF (the job's workflow).
	SubjectAlternativeName string `yaml:"subjectAlternativeName,omitempty" json:"subjectAlternativeName,omitempty"`
	// SubjectAlternativeNameRegexp must match the whole SAN (it is anchored).
	SubjectAlternativeNameRegexp string `yaml:"subjectAlternativeNameRegexp,omitempty" json:"subjectAlternativeNameRegexp,omitempty"`
	// Issuer must equal the OIDC issuer, e.g. https://token.actions.githubusercontent.com.
	Issuer string `yaml:"issuer,omitempty" json:"issuer,omitempty"`

	// SourceRepositoryURI (extension .12), e.g. https://github.com/OWNER/REPO.
	SourceRepositoryURI string `yaml:"sourceRepositoryURI,omitempty" json:"sourceRepositoryURI,omitempty"`
	// SourceRepositoryRef (extension .14), e.g. refs/tags/v1.2.3.
	SourceRepositoryRef string `yaml:"sourceRepositoryRef,omitempty" json:"sourceRepositoryRef,omitempty"`
	// SourceRepositoryDigest (extension .13), the commit built.
	SourceRepositoryDigest string `yaml:"sourceRepositoryDigest,omitempty" json:"sourceRepositoryDigest,omitempty"`
	// WorkflowRef (extension .18, the top-level workflow), e.g.
	// https://github.com/OWNER/REPO/.github/workflows/release.yml@refs/tags/v1.2.3.
	WorkflowRef string `yaml:"workflowRef,omitempty" json:"workflowRef,omitempty"`
	// RunnerEnvironment (extension .11) must equal this: github-hosted or self-hosted.
	RunnerEnvironment string `yaml:"runnerEnvironment,omitempty" json:"runnerEnvironment,omitempty"`
	// RefuseSelfHostedRunner refuses certificates that say self-hosted (or say nothing).
	RefuseSelfHostedRunner bool `yaml:"refuseSelfHostedRunner,omitempty" json:"refuseSelfHostedRunner,omitempty"`
}

// matcher checks that the identity is complete and consistent and returns
// sigstore-go's matcher of its SAN and issuer.
func (id *Identity) matcher() (*sgverify.CertificateIdentity, error) {
	switch {
	case id.SubjectAlternativeName == "" && id.SubjectAlternativeNameRegexp == "":
		return nil, fmt.Errorf("%w: no certificate identity: give the SAN the builder's certificates carry (or a regexp)", ErrInvalidPolicy)
	case id.SubjectAlternativeName != "" && id.SubjectAlternativeNameRegexp != "":
		return nil, fmt.Errorf("%w: a certificate identity and an identity regexp conflict: give one", ErrInvalidPolicy)
	case id.Issuer == "":
		return nil, fmt.Errorf("%w: no certificate OIDC issuer: give the issuer, e.g. https://token.actions.githubusercontent.com", ErrInvalidPolicy)
	case id.RunnerEnvironment != "" && id.RunnerEnvironment != RunnerGitHubHosted && id.RunnerEnvironment != RunnerSelfHosted:
		return nil, fmt.Errorf("%w: runner environment %q: use %s or %s", ErrInvalidPolicy, id.RunnerEnvironment, RunnerGitHubHosted, RunnerSelfHosted)
	case id.RunnerEnvironment == RunnerSelfHosted && id.RefuseSelfHostedRunner:
		return nil, fmt.Errorf("%w: runner environment self-hosted and refusing self-hosted runners conflict", ErrInvalidPolicy)
	}
	sanRE := ""
	if id.SubjectAlternativeNameRegexp != "" {
		sanRE = `^(?:` + id.SubjectAlternativeNameRegexp + `)$`
		if _, err := regexp.Compile(sanRE); err != nil {
			return nil, fmt.Errorf("%w: certificate identity regexp (give a Go regexp the whole SAN must match): %w", ErrInvalidPolicy, err)
		}
	}
	cid, err := sgverify.NewShortCertificateIdentity(id.Issuer, "", id.SubjectAlternativeName, sanRE)
	if err != nil {
		return nil, fmt.Errorf("%w: certificate identity: %w", ErrInvalidPolicy, err)
	}
	return &cid, nil
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
		return failf(ErrIdentity, "%s", strings.Join(bad, "; "))
	}
	detail := fmt.Sprintf("%s from %s", sum.SubjectAlternativeName, ext.Issuer)
	if ext.RunnerEnvironment != "" {
		detail += ", runner " + ext.RunnerEnvironment
	}
	return pass(detail)
}

// crossCheck requires the certificate's source repository, commit and ref to be the
// provenance's (read as its build type records it, sourceOf): a workflow of one
// repository must not vouch for a build of another. For a reusable workflow the
// certificate's SAN names the reusable one, and its source extensions the caller's
// repository and commit, which is what the provenance records; the policy's identity
// then names the reusable workflow.
// For slsabox's build type, the provenance's builder id must also be the identity the
// certificate proves (its SAN or Build Signer URI): otherwise any workflow the
// identity regexp admits could claim to be the builder the policy trusts. GitHub's
// build types are written inside the job that signs them, so their builder id is
// only what the certificate proves: the runner environment it names
// (https://github.com/actions/runner/github-hosted) or the job's workflow (its SAN
// or Build Signer URI). Other builders' provenance keeps its own convention.
func crossCheck(sum *certificate.Summary, st *statement) result {
	ext := sum.Extensions
	pred, err := provenance(st)
	if err != nil {
		if ext.SourceRepositoryURI == "" {
			return skip("the certificate names no source repository (not a CI identity)")
		}
		return failf(ErrIdentity, "no SLSA v1 provenance to compare: %w", err)
	}
	var bad []string
	builderID := pred.GetRunDetails().GetBuilder().GetId()
	slsaboxBuild := pred.GetBuildDefinition().GetBuildType() == spec.BuildType
	if slsaboxBuild && (builderID == "" || (builderID != sum.SubjectAlternativeName && builderID != ext.BuildSignerURI)) {
		bad = append(bad, fmt.Sprintf("builder id %s, certificate identity %s", quote(builderID), quote(sum.SubjectAlternativeName)))
	}
	if bt := pred.GetBuildDefinition().GetBuildType(); (bt == buildTypeGitHub || bt == buildTypeGitHubSLSA) && !gitHubBuilderProven(builderID, sum) {
		bad = append(bad, fmt.Sprintf("builder id %s is neither the certificate's runner (%s) nor its workflow %s",
			quote(builderID), quote(ext.RunnerEnvironment), quote(sum.SubjectAlternativeName)))
	}
	if ext.SourceRepositoryURI == "" {
		if len(bad) > 0 {
			return failf(ErrIdentity, "the provenance's builder is not the identity the certificate proves: %s", strings.Join(bad, "; "))
		}
		if slsaboxBuild {
			return pass("builder id " + builderID + " is the certificate's identity (no source repository in the certificate)")
		}
		return skip("the certificate names no source repository (not a CI identity)")
	}
	src, err := sourceOf(pred)
	if err != nil {
		return failf(ErrIdentity, "the provenance's source cannot be compared with the certificate: %w", err)
	}
	uri, ref, commit := src.uri, src.ref, src.commit
	if !sameRepo(uri, ext.SourceRepositoryURI) {
		bad = append(bad, fmt.Sprintf("source %s (from %s), certificate %s", quote(uri), src.where, ext.SourceRepositoryURI))
	}
	if ext.SourceRepositoryDigest == "" || !strings.EqualFold(commit, ext.SourceRepositoryDigest) {
		bad = append(bad, fmt.Sprintf("commit %s, certificate %s", quote(commit), quote(ext.SourceRepositoryDigest)))
	}
	if ref != "" && ext.SourceRepositoryRef != "" && ref != ext.SourceRepositoryRef {
		bad = append(bad, fmt.Sprintf("ref %s, certificate %s", ref, ext.SourceRepositoryRef))
	}
	if len(bad) > 0 {
		return failf(ErrIdentity, "the provenance's builder or source is not what the certificate's workflow is and ran on: %s", strings.Join(bad, "; "))
	}
	if slsaboxBuild {
		return pass(fmt.Sprintf("%s at %s, built by %s", ext.SourceRepositoryURI, commit, builderID))
	}
	return pass(fmt.Sprintf("%s at %s", ext.SourceRepositoryURI, commit))
}

// gitHubBuilderProven says whether a GitHub build type's builder id is one the
// certificate proves: SERVER/actions/runner/ENV with the certificate's runner
// environment and its repository's server, or the job's workflow.
func gitHubBuilderProven(builderID string, sum *certificate.Summary) bool {
	ext := sum.Extensions
	if builderID == "" {
		return false
	}
	if builderID == sum.SubjectAlternativeName || builderID == ext.BuildSignerURI {
		return true
	}
	server := "https://github.com"
	if u, err := url.Parse(ext.SourceRepositoryURI); err == nil && u.Scheme != "" && u.Host != "" {
		server = u.Scheme + "://" + u.Host
	}
	return ext.RunnerEnvironment != "" && builderID == server+"/actions/runner/"+ext.RunnerEnvironment
}
