//go:build integration

package actiontest

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slsabox/slsabox/internal/testenv"
)

// TestGVisorActionWithAct runs the action with runtime: gvisor under act, in host
// mode: testdata/action-gvisor-test.yml builds a definition that does not ask for
// gVisor, so the input alone must bring it. With no containerd-address the action
// starts a gVisor containerd of its own (scripts/gvisor.sh, beside the suite's), and
// stops it after. The test checks that the step ran on gVisor's kernel, not the
// host's, that the provenance records runtime gvisor and runsc, and that the
// action's daemon is gone. It needs the gVisor tools that scripts/test.sh builds
// (testenv.GVisorContainerd fails in CI without them).
func TestGVisorActionWithAct(t *testing.T) {
	testenv.Tool(t, "act")
	testenv.GVisorContainerd(t) // the tools are built, and the suite's daemon runs them
	rekorURL, _ := testenv.Rekor(t)
	root := testenv.RepoRoot(t)
	tmp, results, repo, _ := actWorkspace(t)
	_, _, pem := slsaboxAndKey(t, tmp)

	// The action's gVisor daemon lives beside the suite's, never in it; it finds the
	// tools where scripts/test.sh built them.
	runDir := envOr("SLSABOX_RUN", "/run/slsabox-test") + "-action"
	stateDir := envOr("SLSABOX_ROOT", "/var/lib/slsabox-test") + "-action"
	home, _ := os.UserHomeDir()
	cache := envOr("SLSABOX_CACHE", filepath.Join(home, ".cache", "slsabox"))
	gvisorEnv := append(os.Environ(), "SLSABOX_RUN="+runDir, "SLSABOX_ROOT="+stateDir, "SLSABOX_CACHE="+cache,
		"SLSABOX_GVISOR_RUN=", "SLSABOX_GVISOR_ROOT=") // the suite's values would name its daemon
	gvisorSh := func(arg string) ([]byte, error) {
		cmd := exec.Command(filepath.Join(root, "scripts", "gvisor.sh"), arg)
		cmd.Env = gvisorEnv
		return cmd.CombinedOutput()
	}
	t.Cleanup(func() { _, _ = gvisorSh("stop") }) // only matters if act was killed mid-step

	env := []string{
		"TEST_RESULTS=" + results,
		"TEST_REKOR_URL=" + rekorURL,
		"TEST_TESTBOX=" + testenv.Image(t, "testbox.tar"),
		"SLSABOX_RUN=" + runDir,
		"SLSABOX_ROOT=" + stateDir,
		"SLSABOX_CACHE=" + cache,
		"SLSABOX_GVISOR_RUN=", "SLSABOX_GVISOR_ROOT=",
		// Decoys: act passes its own environment on to the steps, and the suite's
		// SLSABOX_RUNSC names the same runsc. The action must set its own, and the
		// input, not SLSABOX_RUNTIME, must choose the runtime.
		"SLSABOX_RUNSC=/nonexistent/runsc", "SLSABOX_RUNTIME=runc",
		"GITHUB_WORKFLOW_REF=" + testRepo + "/.github/workflows/action-gvisor-test.yml@refs/heads/main",
	}
	start := time.Now()
	log, err := runAct(t, "action-gvisor-test.yml", repo, tmp, env, map[string]string{"SLSABOX_SIGNING_KEY": string(pem)})
	t.Logf("act ran the workflow in %s", time.Since(start).Round(time.Second))
	if err != nil {
		t.Fatalf("act: %v\n%s", err, tail(log, 80))
	}
	if out, err := gvisorSh("status"); err == nil {
		t.Errorf("the action left its gVisor containerd running: %s", out)
	}
	if !strings.Contains(log, "starting private containerd v2.4.2 with gVisor") {
		t.Errorf("the action did not start its gVisor containerd:\n%s", tail(log, 80))
	}

	var outputs struct{ Bundle, Subjects string }
	data, err := os.ReadFile(filepath.Join(results, "outputs.json"))
	if err != nil {
		t.Fatalf("the workflow wrote no outputs: %v\n%s", err, tail(log, 80))
	}
	if err := json.Unmarshal(data, &outputs); err != nil {
		t.Fatal(err)
	}
	inside, err := os.ReadFile(filepath.Join(results, "out", "version"))
	if err != nil {
		t.Fatalf("the build's output: %v (outputs %s)", err, data)
	}
	host, err := os.ReadFile("/proc/version")
	if err != nil {
		t.Fatal(err)
	}
	if len(inside) == 0 || string(inside) == string(host) {
		t.Errorf("the step saw the host's kernel (%q), not gVisor's", inside)
	}
	st, _ := readBundle(t, outputs.Bundle)
	if got := st.Predicate.BuildDefinition.InternalParameters.Sandbox.Runtime; got != "gvisor" {
		t.Errorf("sandbox.runtime = %q, want gvisor", got)
	}
	var deps []string
	for _, d := range st.Predicate.RunDetails.Builder.BuilderDependencies {
		deps = append(deps, d.Name+" "+d.URI)
	}
	if joined := strings.Join(deps, "\n"); !strings.Contains(joined, "runsc pkg:generic/runsc@") {
		t.Errorf("builderDependencies do not name runsc:\n%s", joined)
	}
}
