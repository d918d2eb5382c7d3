//go:build integration

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slsabox/slsabox/attest"
	"github.com/slsabox/slsabox/internal/testenv"
)

// TestVerifyLoggedBuild verifies a real build logged to the real local Rekor, then
// checks that a wrong artifact, builder, source, key or a tampered bundle each fail
// with exit 1 and name the failing check.
func TestVerifyLoggedBuild(t *testing.T) {
	testenv.Containerd(t)
	url, trustedRoot := testenv.Rekor(t)
	key := keygen(t)
	project := tlogProject(t)
	// A first entry, so that the one verified below has a proof with sibling hashes.
	if _, stderr, code := slsabox(t, "build", project, "-o", filepath.Join(t.TempDir(), "first"), "--key", key+".key",
		"--rekor-url", url, "--rekor-version", rekorVersion()); code != 0 {
		t.Fatalf("build exited %d:\n%s", code, stderr)
	}
	out := filepath.Join(t.TempDir(), "out")
	const builderID = "https://slsabox.dev/builders/verify-test/v1"
	const sourceURI = "git+https://example.org/verify-test"
	if _, stderr, code := slsabox(t, "build", project, "-o", out, "--key", key+".key", "--rekor-url", url,
		"--rekor-version", rekorVersion(), "--builder-id", builderID, "--source-uri", sourceURI); code != 0 {
		t.Fatalf("build exited %d:\n%s", code, stderr)
	}
	bundlePath := filepath.Join(out, attest.BundleFile)
	artifact := filepath.Join(out, "artifact")
	args := func(extra ...string) []string {
		a := []string{"verify", "--bundle", bundlePath, "--key", key + ".pub", "--trusted-root", trustedRoot,
			"--builder-id", builderID, "--source-uri", sourceURI}
		return append(a, extra...)
	}

	stdout, stderr, code := slsabox(t, args(artifact)...)
	if code != 0 {
		t.Fatalf("verify exited %d:\n%s\n%s", code, stdout, stderr)
	}
	t.Logf("verify:\n%s%s", stdout, stderr)
	for _, want := range []string{"VERIFIED", "ok   signature", "ok   transparency log", "ok   builder id: " + builderID} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	stdout, _, code = slsabox(t, args(artifact, "--output", "json")...)
	var rep struct {
		Verified  bool `json:"verified"`
		Artifacts []struct {
			Checks []struct {
				Name string `json:"name"`
				OK   bool   `json:"ok"`
			} `json:"checks"`
		} `json:"artifacts"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || code != 0 || !rep.Verified || len(rep.Artifacts[0].Checks) != 12 {
		t.Errorf("json report: exit %d, %v\n%s", code, err, stdout)
	}

	other := filepath.Join(t.TempDir(), "other")
	os.WriteFile(other, []byte("not the artifact\n"), 0o644)
	otherKey := keygen(t)
	data, _ := os.ReadFile(bundlePath)
	b, err := attest.ParseBundle(data)
	if err != nil {
		t.Fatal(err)
	}
	b.GetDsseEnvelope().Signatures[0].Sig[10] ^= 1
	tampered := filepath.Join(t.TempDir(), "tampered.json")
	if err := attest.WriteBundle(tampered, b); err != nil {
		t.Fatal(err)
	}
	b, _ = attest.ParseBundle(data)
	proof := b.VerificationMaterial.TlogEntries[0].InclusionProof
	if len(proof.Hashes) == 0 {
		t.Fatal("the proof has no hashes to tamper with")
	}
	proof.Hashes[0][0] ^= 1
	badProof := filepath.Join(t.TempDir(), "bad-proof.json")
	if err := attest.WriteBundle(badProof, b); err != nil {
		t.Fatal(err)
	}
	b, _ = attest.ParseBundle(data)
	b.VerificationMaterial.TlogEntries = nil
	noEntry := filepath.Join(t.TempDir(), "no-entry.json")
	if err := attest.WriteBundle(noEntry, b); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		args  []string
		check string
	}{
		{"wrong artifact", args(other), "FAIL subject digest"},
		{"wrong builder id", append(args(artifact), "--builder-id", "https://evil.example/builder"), "FAIL builder id: want https://evil.example/builder"},
		{"wrong source uri", append(args(artifact), "--source-uri", "git+https://evil.example/fork"), "FAIL source uri"},
		{"other key", append(args(artifact), "--key", otherKey+".pub"), "FAIL signature"},
		{"tampered bundle", append(args(artifact), "--bundle", tampered), "FAIL signature"},
		{"inclusion proof hash", append(args(artifact), "--bundle", badProof), "FAIL transparency log"},
		{"no log entry", append(args(artifact), "--bundle", noEntry), "FAIL transparency log: the bundle has none"},
		{"another log key", append(args(artifact), "--trusted-root", otherTrustedRoot(t, trustedRoot)), "FAIL transparency log"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := slsabox(t, tc.args...)
			if code != 1 {
				t.Fatalf("exit %d, want 1:\n%s\n%s", code, stdout, stderr)
			}
			if !strings.Contains(stdout, tc.check) || !strings.Contains(stdout, "FAILED") {
				t.Errorf("output lacks %q:\n%s", tc.check, stdout)
			}
			t.Logf("%s%s", stdout, stderr)
		})
	}

	// Bad input is exit 2, not 1.
	for name, a := range map[string][]string{
		"unreadable bundle": append(args(artifact), "--bundle", filepath.Join(t.TempDir(), "missing.json")),
		"no builder id":     {"verify", "--bundle", bundlePath, "--key", key + ".pub", "--trusted-root", trustedRoot, "--source-uri", sourceURI, artifact},
	} {
		if _, stderr, code := slsabox(t, a...); code != 2 {
			t.Errorf("%s: exit %d, want 2:\n%s", name, code, stderr)
		}
	}
	policy := filepath.Join(t.TempDir(), "policy.yaml")
	os.WriteFile(policy, []byte("builderId: x\n"), 0o644)
	if _, stderr, code := slsabox(t, "verify", "--bundle", bundlePath, "--key", key+".pub", "--trusted-root", trustedRoot, "--policy", policy, artifact); code != 2 {
		t.Errorf("bad policy: exit %d, want 2:\n%s", code, stderr)
	}
}
