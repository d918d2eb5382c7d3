package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoKMSProvidersLinked: the slsabox command links no cloud SDK (each costs start-up
// time on every command, `slsabox verify` included); --key awskms://… and the other
// KMS URIs run the plugin programs of cmd/sigstore-kms-* instead.
func TestNoKMSProvidersLinked(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	forbidden := []string{
		"github.com/slsabox/slsabox/attest/kms",
		"github.com/sigstore/sigstore/pkg/signature/kms/aws",
		"github.com/sigstore/sigstore/pkg/signature/kms/gcp",
		"github.com/sigstore/sigstore/pkg/signature/kms/azure",
		"github.com/sigstore/sigstore/pkg/signature/kms/hashivault",
		"github.com/aws/", "cloud.google.com/", "github.com/Azure/", "github.com/hashicorp/vault",
	}
	for _, d := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if strings.HasPrefix(d, f) {
				t.Errorf("slsabox links %s: KMS providers belong in the plugins of cmd/sigstore-kms-*", d)
			}
		}
	}
}
