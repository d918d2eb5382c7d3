//go:build !slsabox_verifyonly

package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slsabox/slsabox/attest"
)

// The verify-only build (go build -tags slsabox_verifyonly) is the consumer's
// verifier: these tests, run in the full build, check what it links and that it
// verifies as the full build does.

// TestVerifyOnlyDependencies: the verify-only build links neither the builder nor
// containerd (whose package initialization every start would pay), nor a cloud SDK.
func TestVerifyOnlyDependencies(t *testing.T) {
	deps := func(tags ...string) []string {
		t.Helper()
		args := append([]string{"list"}, tags...)
		out, err := exec.Command("go", append(args, "-deps", ".")...).Output()
		if err != nil {
			t.Fatalf("go %s -deps .: %v", strings.Join(args, " "), err)
		}
		return strings.Fields(string(out))
	}
	full, verifyOnly := deps(), deps("-tags", "slsabox_verifyonly")
	t.Logf("packages linked: full build %d, verify-only build %d", len(full), len(verifyOnly))
	forbidden := []struct{ prefix, why string }{
		{"github.com/slsabox/slsabox/builder", "the builder"},
		{"github.com/containerd/", "containerd"},
		{"github.com/distribution/reference", "image references parsed for containerd"},
		{"github.com/slsabox/slsabox/attest/kms", "the KMS providers"},
		{"github.com/sigstore/sigstore/pkg/signature/kms/aws", "sigstore's KMS providers"},
		{"github.com/sigstore/sigstore/pkg/signature/kms/gcp", "sigstore's KMS providers"},
		{"github.com/sigstore/sigstore/pkg/signature/kms/azure", "sigstore's KMS providers"},
		{"github.com/sigstore/sigstore/pkg/signature/kms/hashivault", "sigstore's KMS providers"},
		{"github.com/aws/", "the AWS SDK"},
		{"cloud.google.com/", "the Google Cloud SDK"},
		{"github.com/Azure/", "the Azure SDK"},
		{"github.com/hashicorp/vault", "the Vault client"},
	}
	for _, d := range verifyOnly {
		for _, f := range forbidden {
			if strings.HasPrefix(d, f.prefix) {
				t.Errorf("the verify-only build links %s (%s): find who imports it with go list -tags slsabox_verifyonly -deps -f '{{.ImportPath}}: {{.Imports}}' .", d, f.why)
			}
		}
	}
	if len(verifyOnly) >= len(full) {
		t.Errorf("the verify-only build links %d packages, the full build %d: the tag removes nothing", len(verifyOnly), len(full))
	}
}

// TestVerifyOnlyBinary builds the verify-only binary and runs it: it says which build
// it is, refuses to build as a usage error, and verifies a real bundle with the same
// verdict, output and exit code as the full build (this test's run).
func TestVerifyOnlyBinary(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "slsabox-verify")
	build := exec.Command("go", "build", "-tags", "slsabox_verifyonly", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0") // static, as released
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the verify-only slsabox: %v\n%s", err, out)
	}
	publicGoodOffline(t)
	runBin := func(args ...string) (stdout, stderr string, code int) {
		t.Helper()
		var o, e bytes.Buffer
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return o.String(), e.String(), code
	}

	stdout, stderr, code := runBin("version", "--output", "json")
	var v struct{ Build string }
	if err := json.Unmarshal([]byte(stdout), &v); code != exitOK || err != nil || v.Build != "verify-only" {
		t.Errorf("version --output json: exit %d, build %q (%v), want verify-only\n%s%s", code, v.Build, err, stdout, stderr)
	}
	if stdout, _, _ := runBin("version"); !strings.Contains(stdout, "verify-only build") {
		t.Errorf("version: %q does not say verify-only build", stdout)
	}
	if stdout, _, _ := runBin("--help"); strings.Contains(stdout, "containerd") || !strings.Contains(stdout, "verify-only build") {
		t.Errorf("--help of the verify-only build advertises building, or does not say what it is:\n%s", stdout)
	}
	for _, args := range [][]string{{"build", "."}, {"rebuild", "--bundle", "b"}, {"image", "import", "x.tar"}, {"sweep"}} {
		stdout, stderr, code := runBin(args...)
		want := "slsabox: error: slsabox " + args[0] + ": this is the verify-only build of slsabox (built with -tags slsabox_verifyonly), which cannot build"
		if code != exitUsage || !strings.Contains(stderr, want) || !strings.Contains(stderr, "hint: install the full slsabox") || stdout != "" {
			t.Errorf("%s: exit %d, want %d with %q and a hint\nstdout:\n%s\nstderr:\n%s", args, code, exitUsage, want, stdout, stderr)
		}
	}

	// Real public bundles (keyless, logged), and slsabox's own provenance signed
	// with a key, unlogged.
	tgz := filepath.Join(publicData, "sigstore-js-2.1.0.tgz")
	dir := t.TempDir()
	artifact := filepath.Join(dir, "hello")
	if err := os.WriteFile(artifact, []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("hello\n"))
	img := "sha256:" + strings.Repeat("a", 64)
	st, err := attest.Provenance(&attest.Build{
		Source:     attest.Source{URI: ociTestSource, Ref: "refs/heads/main", Commit: strings.Repeat("c", 40)},
		Definition: attest.Definition{Path: "slsabox.yaml", SHA256: strings.Repeat("d", 64), Content: "version: 1\n"},
		Image:      attest.Image{Ref: "docker.io/library/golang:1.26@" + img, Digest: img, ManifestDigest: img, Platform: "linux/amd64"},
		Subjects:   []attest.Subject{{Name: "hello", SHA256: hex.EncodeToString(sum[:])}},
		LogSHA256:  strings.Repeat("f", 64),
	}, ociTestBuilder, attest.WithNoTlog())
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "key")
	bundle := filepath.Join(dir, "provenance.sigstore.json")
	if err := os.WriteFile(bundle, signWithKeyAt(t, key, st), 0o644); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other")
	signWithKeyAt(t, other, st) // makes other.pub
	keyArgs := []string{"verify", "--bundle", bundle, "--key", key + ".pub", "--no-tlog-unsafe", "--builder-id", ociTestBuilder}
	for _, tt := range []struct {
		name string
		args []string
		code int
	}{
		{"verified", append(npmArgs("sigstore-js-2.1.0-bundle.json"), tgz), exitOK},
		{"verified, json", append(npmArgs("sigstore-js-2.1.0-bundle.json"), tgz, "--output", "json"), exitOK},
		{"another artifact", append(npmArgs("sigstore-js-2.1.0-bundle.json"), filepath.Join(publicData, "reusable-workflow-artifact")), exitFailed},
		{"reusable workflow, another artifact", append(reusableArgs()[:len(reusableArgs())-1], tgz), exitFailed},
		{"key, unlogged", append(keyArgs, "--source-uri", ociTestSource, artifact), exitOK},
		{"key, unlogged, another source", append(keyArgs, "--source-uri", "git+https://github.com/evil/r", artifact), exitFailed},
		{"key, another key", []string{"verify", "--bundle", bundle, "--key", other + ".pub", "--no-tlog-unsafe",
			"--builder-id", ociTestBuilder, "--source-uri", ociTestSource, artifact}, exitFailed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var fullOut, fullErr bytes.Buffer
			fullCode := run(context.Background(), tt.args, &fullOut, &fullErr)
			stdout, stderr, code := runBin(tt.args...)
			if fullCode != tt.code || code != fullCode || stdout != fullOut.String() || stderr != fullErr.String() {
				t.Errorf("verify-only build: exit %d, full build: exit %d (want %d)\n"+
					"verify-only stdout:\n%s\nfull stdout:\n%s\nverify-only stderr:\n%s\nfull stderr:\n%s",
					code, fullCode, tt.code, stdout, fullOut.String(), stderr, fullErr.String())
			}
		})
	}
}
