package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/slsabox/slsabox/attest/verify"
)

const (
	testSAN    = "https://github.com/o/r/.github/workflows/release.yml@refs/tags/v1"
	testIssuer = "https://token.actions.githubusercontent.com"
)

// TestIdentityFill: the --certificate-* flags fill the policy's identity, add to a
// policy file's, and refuse to name another identity than the file.
func TestIdentityFill(t *testing.T) {
	fileID := &verify.Identity{SubjectAlternativeName: testSAN, Issuer: testIssuer}
	for _, tt := range []struct {
		name string
		file *verify.Identity
		args []string
		want *verify.Identity // nil: a usage error
	}{
		{"flags only", nil, []string{"--certificate-identity", testSAN, "--certificate-oidc-issuer", testIssuer}, fileID},
		{"file only", fileID, nil, fileID},
		{"same identity", fileID, []string{"--certificate-identity", testSAN}, fileID},
		{"flags add a claim", fileID, []string{"--certificate-runner-environment", "github-hosted", "--refuse-self-hosted-runner"},
			&verify.Identity{SubjectAlternativeName: testSAN, Issuer: testIssuer, RunnerEnvironment: "github-hosted", RefuseSelfHostedRunner: true}},
		{"another SAN", fileID, []string{"--certificate-identity", testSAN + "x"}, nil},
		{"a regexp for a SAN", fileID, []string{"--certificate-identity-regexp", ".*"}, nil},
		{"another issuer", fileID, []string{"--certificate-oidc-issuer", "https://accounts.google.com"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var i identityFlags
			fs := pflag.NewFlagSet("verify", pflag.ContinueOnError)
			i.register(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			p := verify.Policy{CertificateIdentity: tt.file}
			err := i.fill(&p, "policy.yaml")
			if tt.want == nil {
				var u usageError
				if !errors.As(err, &u) || !strings.Contains(err.Error(), "different identities") {
					t.Fatalf("err = %v, want a usage error naming the conflict", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if *p.CertificateIdentity != *tt.want {
				t.Errorf("identity %+v, want %+v", *p.CertificateIdentity, *tt.want)
			}
			if tt.file != nil && *tt.file != *fileID {
				t.Error("fill changed the file's identity in place")
			}
		})
	}
}

// TestVerifyIdentityUsage runs slsabox verify: a policy file's identity makes a
// keyless verification (no --key needed, and --key conflicts), and a flag naming
// another identity is a usage error (exit 2), all before any bundle is read.
func TestVerifyIdentityUsage(t *testing.T) {
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(policy, []byte("builderID: "+testSAN+"\nsourceURI: git+https://github.com/o/r\ncertificateIdentity:\n  subjectAlternativeName: "+
		testSAN+"\n  issuer: "+testIssuer+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := []string{"verify", "--bundle", filepath.Join(dir, "missing.json"), "--digest", "sha256:" + strings.Repeat("1", 64)}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"neither key nor identity", nil, "needs --key"},
		{"another identity", []string{"--policy", policy, "--certificate-identity", testSAN + "x"}, "different identities"},
		{"a key too", []string{"--policy", policy, "--key", filepath.Join(dir, "k.pub")}, "--key conflicts with a certificate identity"},
		// Past the usage checks: the bundle is read (and missing).
		{"the file's identity", []string{"--policy", policy, "--trusted-root", filepath.Join(dir, "root.json")}, "root.json"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append(append([]string(nil), base...), tt.args...), &stdout, &stderr)
			if code != exitUsage || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d naming %q", code, stderr.String(), exitUsage, tt.want)
			}
		})
	}
}
