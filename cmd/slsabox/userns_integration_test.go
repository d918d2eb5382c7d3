//go:build integration

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slsabox/slsabox/internal/testenv"
)

// TestBuildRequireUserns: build --require-userns runs where the kernel has user
// namespaces, and the signed provenance records the namespace, without the host range
// (which --output json shows).
func TestBuildRequireUserns(t *testing.T) {
	repo, key, out := uidMapProject(t)
	stdout, stderr, code := slsabox(t, "build", repo, "-o", out, "--key", key+".key", "--no-tlog", "--require-userns", "--output", "json")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	var res struct {
		HostIDs string `json:"hostIds"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil || res.HostIDs == "" {
		t.Fatalf("--output json: hostIds %q (%v)\n%s", res.HostIDs, err, stdout)
	}
	if !strings.Contains(stderr, "steps run in a user namespace on host ids "+res.HostIDs) {
		t.Errorf("stderr does not name the host ids %s:\n%s", res.HostIDs, stderr)
	}
	uidMap, err := os.ReadFile(filepath.Join(out, "uid_map"))
	if err != nil {
		t.Fatal(err)
	}
	if f := strings.Fields(string(uidMap)); len(f) != 3 || f[0] != "0" || f[1] != strings.Split(res.HostIDs, "-")[0] || f[2] != "65536" {
		t.Errorf("uid_map = %q, want 0 %s 65536", uidMap, strings.Split(res.HostIDs, "-")[0])
	}

	payload, got := provenanceUserns(t, out)
	if !strings.HasPrefix(got, "private: ") {
		t.Errorf("sandbox.userNamespace = %q", got)
	}
	if strings.Contains(string(payload), strings.Split(res.HostIDs, "-")[0]) {
		t.Errorf("the provenance names the host range %s, which changes from run to run", res.HostIDs)
	}
}

// TestBuildNoUserns: --no-userns runs the step with the host's ids (its uid map is
// the host's whole range), warns, and the provenance says so.
func TestBuildNoUserns(t *testing.T) {
	repo, key, out := uidMapProject(t)
	_, stderr, code := slsabox(t, "build", repo, "-o", out, "--key", key+".key", "--no-tlog", "--no-userns")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "warning: steps run without a user namespace (turned off)") {
		t.Errorf("no warning on stderr:\n%s", stderr)
	}
	uidMap, err := os.ReadFile(filepath.Join(out, "uid_map"))
	if err != nil {
		t.Fatal(err)
	}
	if f := strings.Fields(string(uidMap)); len(f) != 3 || f[0] != "0" || f[1] != "0" {
		t.Errorf("uid_map = %q, want the host's own (0 0 ...)", uidMap)
	}
	if _, got := provenanceUserns(t, out); got != "none: turned off by the caller" {
		t.Errorf("sandbox.userNamespace = %q, want none: turned off by the caller", got)
	}
}

// provenanceUserns reads sandbox.userNamespace of the signed provenance in out, and
// returns it with the statement.
func provenanceUserns(t *testing.T, out string) (statement []byte, userns string) {
	t.Helper()
	return bundlePayload(t, filepath.Join(out, "provenance.sigstore.json")), provenanceStatement(t, out).Predicate.BuildDefinition.InternalParameters.Sandbox.UserNamespace
}

// uidMapProject is a committed project whose step writes its uid map to /out/uid_map,
// a key to sign it with, and an output directory.
func uidMapProject(t *testing.T) (repo, key, out string) {
	t.Helper()
	testenv.Containerd(t)
	image := testenv.Image(t, "testbox.tar")
	repo = t.TempDir()
	def := "version: 1\nimage: " + image + "\nsteps:\n  - name: build\n    run: [sh, -c, \"cat /proc/self/uid_map > /out/uid_map\"]\noutputs: [\"/out/*\"]\n"
	if err := os.WriteFile(filepath.Join(repo, "slsabox.yaml"), []byte(def), 0o644); err != nil {
		t.Fatal(err)
	}
	gitInitCommit(t, repo)
	key = keygen(t)
	out = filepath.Join(t.TempDir(), "out")
	return repo, key, out
}
