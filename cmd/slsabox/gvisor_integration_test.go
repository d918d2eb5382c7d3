//go:build integration

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slsabox/slsabox/internal/testenv"
)

// TestGVisorBuild: a definition that asks for gVisor (sandbox: {runtime: gvisor})
// runs its step under gVisor's kernel, not the host's; the signed provenance records
// sandbox.runtime and runsc's version, and verifies. It cannot be weakened to runc,
// and a containerd that cannot run gVisor is refused with what to do.
func TestGVisorBuild(t *testing.T) {
	gvisor := testenv.GVisorContainerd(t)
	image := testenv.Image(t, "testbox.tar")
	repo := t.TempDir()
	def := "version: 1\nimage: " + image + "\nsandbox: {runtime: gvisor}\nsteps:\n  - name: build\n    run: [sh, -c, \"cat /proc/version > /out/version\"]\noutputs: [\"/out/*\"]\n"
	if err := os.WriteFile(filepath.Join(repo, "slsabox.yaml"), []byte(def), 0o644); err != nil {
		t.Fatal(err)
	}
	gitInitCommit(t, repo)
	key := keygen(t)
	out := filepath.Join(t.TempDir(), "out")

	_, stderr, code := slsabox(t, "--containerd-address", gvisor, "build", repo, "-o", out, "--key", key+".key", "--no-tlog")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	inside, err := os.ReadFile(filepath.Join(out, "version"))
	if err != nil {
		t.Fatal(err)
	}
	host, err := os.ReadFile("/proc/version")
	if err != nil {
		t.Fatal(err)
	}
	if len(inside) == 0 || string(inside) == string(host) {
		t.Errorf("the step saw the host's kernel (%q), not gVisor's", inside)
	}
	t.Logf("the step's kernel: %s", strings.TrimSpace(string(inside)))

	st := provenanceStatement(t, out)
	if got := st.Predicate.BuildDefinition.InternalParameters.Sandbox.Runtime; got != "gvisor" {
		t.Errorf("sandbox.runtime = %q, want gvisor", got)
	}
	var deps []string
	for _, d := range st.Predicate.RunDetails.Builder.BuilderDependencies {
		deps = append(deps, d.Name+" "+d.URI)
	}
	joined := strings.Join(deps, "\n")
	if !strings.Contains(joined, "runsc pkg:generic/runsc@") || strings.Contains(joined, "runc pkg:") {
		t.Errorf("builderDependencies should name runsc and not runc:\n%s", joined)
	}

	_, stderr, code = slsabox(t, "verify", filepath.Join(out, "version"), "--bundle", filepath.Join(out, "provenance.sigstore.json"),
		"--key", key+".pub", "--no-tlog-unsafe", "--builder-id", defaultBuilderID, "--allow-any-source-unsafe")
	if code != 0 {
		t.Errorf("verify exited %d:\n%s", code, stderr)
	}

	// A build run under gVisor by the caller's choice is run under gVisor again by
	// rebuild, which reads sandbox.runtime: /proc/version, gVisor's, must reproduce.
	plain := t.TempDir()
	if err := os.WriteFile(filepath.Join(plain, "slsabox.yaml"), []byte(strings.Replace(def, "sandbox: {runtime: gvisor}\n", "", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	gitInitCommit(t, plain)
	out2 := filepath.Join(t.TempDir(), "out")
	if _, stderr, code := slsabox(t, "--containerd-address", gvisor, "build", plain, "-o", out2, "--key", key+".key", "--no-tlog", "--runtime", "gvisor"); code != 0 {
		t.Fatalf("build --runtime gvisor: exit %d:\n%s", code, stderr)
	}
	if got := provenanceStatement(t, out2).Predicate.BuildDefinition.InternalParameters.Sandbox.Runtime; got != "gvisor" {
		t.Errorf("--runtime gvisor: sandbox.runtime = %q", got)
	}
	if _, stderr, code := slsabox(t, "--containerd-address", gvisor, "rebuild", "--bundle", filepath.Join(out2, "provenance.sigstore.json"),
		"--key", key+".pub", "--no-tlog-unsafe", plain); code != 0 {
		t.Errorf("rebuild of a gVisor build: exit %d:\n%s", code, stderr)
	}
	if _, stderr, code := slsabox(t, "--containerd-address", gvisor, "rebuild", "--bundle", filepath.Join(out2, "provenance.sigstore.json"),
		"--key", key+".pub", "--no-tlog-unsafe", "--runtime", "runc", plain); code != 2 || !strings.Contains(stderr, "ran under gVisor") {
		t.Errorf("rebuild --runtime runc of a gVisor build: exit %d, want 2 and why:\n%s", code, stderr)
	}

	// Never weakened: the definition asks for gVisor.
	_, stderr, code = slsabox(t, "--containerd-address", gvisor, "build", repo, "-o", filepath.Join(t.TempDir(), "o2"), "--key", key+".key", "--no-tlog", "--runtime", "runc")
	if code != 2 || !strings.Contains(stderr, "never weakened") {
		t.Errorf("--runtime runc on a gVisor definition: exit %d, want 2 and why:\n%s", code, stderr)
	}
	// The runc containerd (Debian's 1.6) cannot run gVisor: refused, with the fix.
	_, stderr, code = slsabox(t, "--containerd-address", testenv.Containerd(t), "build", repo, "-o", filepath.Join(t.TempDir(), "o3"), "--key", key+".key", "--no-tlog")
	if code != 3 || !strings.Contains(stderr, "scripts/gvisor.sh") {
		t.Errorf("a gVisor build on containerd %s: exit %d, want 3 and the fix:\n%s", testenv.Containerd(t), code, stderr)
	}
}
