package kms_test

import (
	"slices"
	"testing"

	sigkms "github.com/sigstore/sigstore/pkg/signature/kms"

	_ "github.com/slsabox/slsabox/attest/kms"
)

// TestProvidersRegistered: importing the package is what makes attest.LoadSigner
// accept the KMS URIs that docs/config.md and --help promise.
func TestProvidersRegistered(t *testing.T) {
	got := sigkms.SupportedProviders()
	for _, scheme := range []string{"awskms://", "gcpkms://", "azurekms://", "hashivault://"} {
		if !slices.Contains(got, scheme) {
			t.Errorf("%s is not registered (registered: %v)", scheme, got)
		}
	}
}
