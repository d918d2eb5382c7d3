package main

import (
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/slsabox/slsabox/attest/verify"
)

// identityFlags are the keyless part of the policy: who must have signed, read from
// the bundle's Fulcio certificate. They fill verify.Policy.CertificateIdentity, which
// a --policy file can also give (certificateIdentity).
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

// fill puts the flags' identity into p, whose CertificateIdentity came from the
// policy file file (or is nil). The flags may add to the file's identity; a flag that
// names another identity than the file is a usage error, since either could be the
// one meant.
func (i *identityFlags) fill(p *verify.Policy, file string) error {
	if !i.set() {
		return nil
	}
	if p.CertificateIdentity == nil {
		id := i.id
		p.CertificateIdentity = &id
		return nil
	}
	merged := *p.CertificateIdentity
	fileSAN := merged.SubjectAlternativeName != "" || merged.SubjectAlternativeNameRegexp != ""
	flagSAN := i.id.SubjectAlternativeName != "" || i.id.SubjectAlternativeNameRegexp != ""
	if fileSAN && flagSAN && (merged.SubjectAlternativeName != i.id.SubjectAlternativeName || merged.SubjectAlternativeNameRegexp != i.id.SubjectAlternativeNameRegexp) {
		return usageError{fmt.Errorf("--certificate-identity%s and the certificateIdentity of %s name different identities: give one", regexpSuffix(i.id), file)}
	}
	for _, f := range []struct {
		flag, key string
		file      *string
		value     string
	}{
		{"certificate-identity", "subjectAlternativeName", &merged.SubjectAlternativeName, i.id.SubjectAlternativeName},
		{"certificate-identity-regexp", "subjectAlternativeNameRegexp", &merged.SubjectAlternativeNameRegexp, i.id.SubjectAlternativeNameRegexp},
		{"certificate-oidc-issuer", "issuer", &merged.Issuer, i.id.Issuer},
		{"certificate-source-repository", "sourceRepositoryURI", &merged.SourceRepositoryURI, i.id.SourceRepositoryURI},
		{"certificate-source-ref", "sourceRepositoryRef", &merged.SourceRepositoryRef, i.id.SourceRepositoryRef},
		{"certificate-source-digest", "sourceRepositoryDigest", &merged.SourceRepositoryDigest, i.id.SourceRepositoryDigest},
		{"certificate-workflow-ref", "workflowRef", &merged.WorkflowRef, i.id.WorkflowRef},
		{"certificate-runner-environment", "runnerEnvironment", &merged.RunnerEnvironment, i.id.RunnerEnvironment},
	} {
		switch {
		case f.value == "":
		case *f.file == "":
			*f.file = f.value
		case *f.file != f.value:
			return usageError{fmt.Errorf("--%s %q and certificateIdentity.%s %q of %s name different identities: give one", f.flag, f.value, f.key, *f.file, file)}
		}
	}
	merged.RefuseSelfHostedRunner = merged.RefuseSelfHostedRunner || i.id.RefuseSelfHostedRunner
	p.CertificateIdentity = &merged
	return nil
}

func regexpSuffix(id verify.Identity) string {
	if id.SubjectAlternativeNameRegexp != "" {
		return "-regexp"
	}
	return ""
}

// errNoTrust is the usage error of a verify or rebuild given neither a key nor an identity.
var errNoTrust = errors.New("needs --key, the builder's public key, or for keyless bundles a certificate identity: --certificate-identity and --certificate-oidc-issuer, or certificateIdentity in the --policy file")
