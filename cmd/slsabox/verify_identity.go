package main

import (
	"github.com/spf13/pflag"

	"github.com/slsabox/slsabox/attest/verify"
)

// identityFlags are verify's keyless flags: who must have signed, read from the
// bundle's Fulcio certificate.
type identityFlags struct {
	id verify.Identity
}

func (i *identityFlags) register(f *pflag.FlagSet) {
	f.StringVar(&i.id.SubjectAlternativeName, "certificate-identity", "", "keyless: the certificate's identity (SAN), e.g. https://github.com/OWNER/REPO/.github/workflows/release.yml@refs/tags/v1.0.0")
	f.StringVar(&i.id.SubjectAlternativeNameRegexp, "certificate-identity-regexp", "", "keyless: a regexp the whole SAN must match (instead of --certificate-identity)")
	f.StringVar(&i.id.Issuer, "certificate-oidc-issuer", "", "keyless: the OIDC issuer, e.g. https://token.actions.githubusercontent.com")
	f.StringVar(&i.id.SourceRepositoryURI, "certificate-source-repository", "", "keyless: the repository the workflow ran on, e.g. https://github.com/OWNER/REPO")
	f.StringVar(&i.id.SourceRepositoryRef, "certificate-source-ref", "", "keyless: the ref the workflow ran on, e.g. refs/tags/v1.0.0")
	f.StringVar(&i.id.SourceRepositoryDigest, "certificate-source-digest", "", "keyless: the commit the workflow ran on")
	f.StringVar(&i.id.WorkflowRef, "certificate-workflow-ref", "", "keyless: the top-level workflow, e.g. https://github.com/OWNER/REPO/.github/workflows/release.yml@refs/tags/v1.0.0")
	f.StringVar(&i.id.RunnerEnvironment, "certificate-runner-environment", "", "keyless: github-hosted or self-hosted")
	f.BoolVar(&i.id.RefuseSelfHostedRunner, "refuse-self-hosted-runner", false, "keyless: refuse certificates from self-hosted runners")
}

// set says whether any keyless flag was given.
func (i *identityFlags) set() bool { return i.id != (verify.Identity{}) }
