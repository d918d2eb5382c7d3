//go:build !slsabox_verifyonly

package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"

	"github.com/slsabox/slsabox/builder"
)

// TestNamespaceDefault: --namespace defaults to the builder's own namespace, which
// scripts and docs name (docs/config.md).
func TestNamespaceDefault(t *testing.T) {
	t.Setenv("SLSABOX_NAMESPACE", "")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	m := regexp.MustCompile(`--namespace string .*\(default "([^"]*)"\)`).FindStringSubmatch(stdout.String())
	if m == nil || m[1] != builder.DefaultNamespace || builder.DefaultNamespace != "slsabox" {
		t.Errorf("--namespace default %q, want builder.DefaultNamespace %q (slsabox)\n%s", m, builder.DefaultNamespace, stdout.String())
	}
}
