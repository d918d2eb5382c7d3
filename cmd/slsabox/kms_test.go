package main

import (
	"slices"
	"testing"

	sigkms "github.com/sigstore/sigstore/pkg/signature/kms"
)

// TestKMSProvidersLinked: the slsabox command registers the KMS providers its --key
// help names (attest leaves them to package attest/kms).
func TestKMSProvidersLinked(t *testing.T) {
	for _, scheme := range []string{"awskms://", "gcpkms://", "azurekms://", "hashivault://"} {
		if !slices.Contains(sigkms.SupportedProviders(), scheme) {
			t.Errorf("slsabox does not register %s", scheme)
		}
	}
}
