package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slsabox/slsabox/attest"
)

// publicData is where attest/verify keeps real public bundles (its README names
// each file's origin and sha256).
var publicData = filepath.Join("..", "..", "attest", "verify", "testdata", "public")

const (
	npmSHA512 = "90f223f992e4c88dd068cd2a5fc57f9d2b30798343dd6e38f29c240e04ba090ef831f84490847c4e82b9232c78e8a258463b1e55c0f7469f730265008fa6633f"
	ghBuildT  = "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1"
	ghRunnerT = "https://github.com/actions/runner/github-hosted"
)

// npmArgs verify sigstore@2.1.0's npm provenance as docs/verify.md says.
func npmArgs(bundle string) []string {
	return []string{"verify", "--bundle", filepath.Join(publicData, bundle),
		"--certificate-identity", "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main",
		"--certificate-oidc-issuer", testIssuer,
		"--builder-id", ghRunnerT, "--build-type", ghBuildT,
		"--source-uri", "git+https://github.com/sigstore/sigstore-js", "--source-ref", "refs/heads/main"}
}

// reusableArgs verify a GitHub artifact attestation signed by a reusable workflow: the
// identity is the reusable workflow, the caller's workflow a certificate claim.
func reusableArgs() []string {
	return []string{"verify", "--bundle", filepath.Join(publicData, "reusable-workflow-attestation.sigstore.json"),
		"--certificate-identity-regexp", `https://github\.com/github/artifact-attestations-workflows/\.github/workflows/attest\.yml@[0-9a-f]{40}`,
		"--certificate-oidc-issuer", testIssuer,
		"--certificate-workflow-ref", "https://github.com/malancas/attest-demo/.github/workflows/shared.yml@refs/heads/main",
		"--builder-id", ghRunnerT, "--build-type", ghBuildT,
		"--source-uri", "git+https://github.com/malancas/attest-demo", "--source-ref", "refs/heads/main",
		filepath.Join(publicData, "reusable-workflow-artifact")}
}

// publicGoodOffline makes verify trust the built-in public-good root with nothing
// fetched, whatever the suite's environment names (scripts/test.sh sets
// SLSABOX_TRUSTED_ROOT to the local log's root).
func publicGoodOffline(t *testing.T) {
	for _, v := range []string{"SLSABOX_TRUSTED_ROOT", "SLSABOX_TUF_MIRROR", "SLSABOX_TUF_ROOT"} {
		t.Setenv(v, "")
	}
	t.Setenv("SLSABOX_TUF_CACHE", t.TempDir())
	t.Setenv("SLSABOX_OFFLINE", "1")
}

// TestVerifyPublicBundles runs slsabox verify on real bundles of other builders, with
// the built-in public-good root and nothing fetched.
func TestVerifyPublicBundles(t *testing.T) {
	publicGoodOffline(t)
	tgz := filepath.Join(publicData, "sigstore-js-2.1.0.tgz")
	replace := func(args []string, flag, value string) []string {
		out := append([]string(nil), args...)
		for i := range out {
			if out[i] == flag {
				out[i+1] = value
			}
		}
		return out
	}
	for _, tt := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"npm tarball by sha512", append(npmArgs("sigstore-js-2.1.0-bundle.json"), tgz), exitOK, "VERIFIED " + tgz + " (sha512:" + npmSHA512 + ")"},
		{"npm bundle v0.1", append(npmArgs("sigstore-js-2.1.0-bundle-v0.1.json"), tgz), exitOK, "(sha512:" + npmSHA512 + ")"},
		{"npm --digest sha512", append(npmArgs("sigstore-js-2.1.0-bundle.json"), "--digest", "sha512:"+strings.ToUpper(npmSHA512)), exitOK, "is subject pkg:npm/sigstore@2.1.0"},
		{"npm --digest of another algorithm", append(npmArgs("sigstore-js-2.1.0-bundle.json"), "--digest", "sha256:"+strings.Repeat("a", 64)), exitFailed, "FAIL subject digest"},
		{"npm bare sha512 digest", append(npmArgs("sigstore-js-2.1.0-bundle.json"), "--digest", npmSHA512), exitUsage, "give another algorithm's digest as ALG:HEX"},
		{"npm another artifact", append(npmArgs("sigstore-js-2.1.0-bundle.json"), filepath.Join(publicData, "reusable-workflow-artifact")), exitFailed, "FAIL subject digest"},
		{"npm another repository", append(replace(npmArgs("sigstore-js-2.1.0-bundle.json"), "--source-uri", "git+https://github.com/evil/sigstore-js"), tgz), exitFailed, "FAIL source uri"},
		{"npm another workflow", append(replace(npmArgs("sigstore-js-2.1.0-bundle.json"), "--certificate-identity", "https://github.com/sigstore/sigstore-js/.github/workflows/ci.yml@refs/heads/main"), tgz), exitFailed, "FAIL certificate identity"},
		{"reusable workflow", reusableArgs(), exitOK, "ok   certificate matches provenance: https://github.com/malancas/attest-demo at 95baf27389e83e6a5c48f42e190d48d7abcea19e"},
		{"reusable, another caller workflow", replace(reusableArgs(), "--certificate-workflow-ref", "https://github.com/malancas/attest-demo/.github/workflows/evil.yml@refs/heads/main"), exitFailed, "FAIL certificate identity"},
		{"reusable, another reusable workflow", replace(reusableArgs(), "--certificate-identity-regexp", `https://github\.com/evil/workflows/.*`), exitFailed, "FAIL certificate identity"},
		{"reusable, another repository", replace(reusableArgs(), "--source-uri", "git+https://github.com/malancas/other"), exitFailed, "FAIL source uri"},
		{"reusable, another artifact", append(reusableArgs()[:len(reusableArgs())-1], tgz), exitFailed, "FAIL subject digest"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append(tt.args, "--quiet"), &stdout, &stderr)
			if code != tt.code || !strings.Contains(stdout.String()+stderr.String(), tt.want) {
				t.Errorf("exit %d, want %d naming %q\nstdout:\n%s\nstderr:\n%s", code, tt.code, tt.want, stdout.String(), stderr.String())
			}
		})
	}
}

// TestVerifyPublicVSA writes a VSA for the npm package: its subject carries the sha512
// the provenance names it by.
func TestVerifyPublicVSA(t *testing.T) {
	publicGoodOffline(t)
	dir := t.TempDir()
	priv, _, err := attest.GenerateKey(attest.ECDSAP256, nil)
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "vsa.key")
	if err := os.WriteFile(key, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "vsa.json")
	args := append(npmArgs("sigstore-js-2.1.0-bundle.json"), filepath.Join(publicData, "sigstore-js-2.1.0.tgz"),
		"--vsa-out", out, "--vsa-key", key, "--vsa-resource-uri", "pkg:npm/sigstore@2.1.0", "--quiet")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), args, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var env struct{ Payload string }
	if err := json.Unmarshal(data, &env); err != nil {
		t.Fatal(err)
	}
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Subject []struct {
			Name   string
			Digest map[string]string
		}
	}
	if err := json.Unmarshal(payload, &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Subject) != 1 || st.Subject[0].Name != "pkg:npm/sigstore@2.1.0" || st.Subject[0].Digest["sha512"] != npmSHA512 || len(st.Subject[0].Digest) != 1 {
		t.Errorf("VSA subjects %+v, want pkg:npm/sigstore@2.1.0 by its sha512", st.Subject)
	}
}

// TestVerifyPublicJSONTrustRoot: --output json names the trusted root and, when it is
// a fallback (here: offline, no cache), why, so that a machine sees what stderr says.
func TestVerifyPublicJSONTrustRoot(t *testing.T) {
	publicGoodOffline(t)
	var stdout, stderr bytes.Buffer
	args := append(npmArgs("sigstore-js-2.1.0-bundle.json"), filepath.Join(publicData, "sigstore-js-2.1.0.tgz"), "--output", "json")
	if code := run(context.Background(), args, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	var out struct {
		Verified           bool   `json:"verified"`
		TrustedRoot        string `json:"trustedRoot"`
		TrustedRootWarning string `json:"trustedRootWarning"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if !out.Verified || !strings.Contains(out.TrustedRoot, "embedded") || !strings.Contains(out.TrustedRootWarning, "offline") {
		t.Errorf("json %+v", out)
	}
}
