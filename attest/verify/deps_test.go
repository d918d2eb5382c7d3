package verify

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the verifier small enough for a consumer to link: a program
// that only checks downloads must not pull in the builder, containerd, a cloud SDK
// or signing code. It reads what `go list -deps` says the package links.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	forbidden := []struct{ prefix, why string }{
		{"github.com/slsabox/slsabox/builder", "the builder"},
		{"github.com/slsabox/slsabox/attest/kms", "the KMS providers"},
		{"github.com/containerd/", "containerd"},
		{"github.com/aws/", "the AWS SDK"},
		{"cloud.google.com/", "the Google Cloud SDK"},
		{"github.com/Azure/", "the Azure SDK"},
		{"github.com/hashicorp/vault", "the Vault client"},
		{"github.com/sigstore/sigstore/pkg/signature/kms", "sigstore's KMS providers"},
		{"github.com/sigstore/sigstore-go/pkg/sign", "signing: verify does not sign"},
	}
	for _, d := range deps {
		if d == "github.com/slsabox/slsabox/attest" {
			t.Errorf("attest/verify links %s (signing and provenance): move what it needs to attest/spec", d)
		}
		for _, f := range forbidden {
			if strings.HasPrefix(d, f.prefix) {
				t.Errorf("attest/verify links %s (%s)", d, f.why)
			}
		}
	}
	// A budget, so that growth is a decision: sigstore-go's pkg/verify alone links
	// about 540 packages, and the verifier is little more than that.
	const budget = 600
	if len(deps) > budget {
		t.Errorf("attest/verify links %d packages, over its budget of %d: find the new dependency with go list -deps", len(deps), budget)
	}
}
