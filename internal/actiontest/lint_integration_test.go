//go:build integration

package actiontest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/slsabox/slsabox/internal/testenv"
)

// lintProject lays out a throwaway git repository as actionlint expects one: action.yml
// at the top (so that `uses: ./` is checked against its inputs) and the workflows
// under .github/workflows.
func lintProject(t *testing.T, workflows map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, ".github", "workflows"), 0o755); err != nil {
		t.Fatal(err)
	}
	a, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "action.yml"), a, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, data := range workflows {
		if err := os.WriteFile(filepath.Join(dir, ".github", "workflows", name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// actionlint finds the project by its .git.
	if out, err := exec.Command("git", "init", "-q", dir).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	return dir
}

func actionlint(t *testing.T, dir string) (string, error) {
	t.Helper()
	cmd := exec.Command(testenv.Tool(t, "actionlint"), "-shellcheck", testenv.Tool(t, "shellcheck"), "-pyflakes", "", "-no-color")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// actionStepsWorkflow turns action.yml's composite steps into a reusable workflow with
// the same inputs, so that actionlint (which does not read action.yml) checks their
// expressions and, through shellcheck, their scripts.
func actionStepsWorkflow(t *testing.T) []byte {
	t.Helper()
	var a struct {
		Inputs map[string]struct {
			Default string `yaml:"default"`
		} `yaml:"inputs"`
		Runs struct {
			Steps []any `yaml:"steps"`
		} `yaml:"runs"`
	}
	readYAML(t, filepath.Join(testenv.RepoRoot(t), "action.yml"), &a)
	inputs := map[string]any{}
	for name, in := range a.Inputs {
		inputs[name] = map[string]any{"type": "string", "required": false, "default": in.Default}
	}
	out, err := yaml.Marshal(map[string]any{
		"name":        "action.yml steps",
		"on":          map[string]any{"workflow_call": map[string]any{"inputs": inputs}},
		"permissions": map[string]any{},
		"jobs": map[string]any{"action": map[string]any{
			"runs-on": "ubuntu-latest",
			"steps":   a.Runs.Steps,
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestActionlint lints every example workflow, the workflow the act test runs (which
// uses the action with `uses: ./`), and action.yml's own steps.
func TestActionlint(t *testing.T) {
	files := map[string][]byte{"action-steps.yml": actionStepsWorkflow(t)}
	for _, f := range workflows(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(f)] = data
	}
	if out, err := actionlint(t, lintProject(t, files)); err != nil {
		t.Fatalf("actionlint: %v\n%s\naction.yml's steps as a workflow:\n%s", err, out, files["action-steps.yml"])
	}
}

// TestActionlintCatches makes sure the lint above is not blind: an undeclared input of
// `uses: ./` and an unquoted variable in a script must both be reported.
func TestActionlintCatches(t *testing.T) {
	probe := []byte(`on: push
permissions: {}
jobs:
  j:
    runs-on: ubuntu-latest
    steps:
      - uses: ./
        with:
          no-such-input: x
      - run: cd $HOME/x
`)
	out, err := actionlint(t, lintProject(t, map[string][]byte{"probe.yml": probe}))
	if err == nil {
		t.Fatalf("actionlint passed a broken workflow:\n%s", out)
	}
	for _, want := range []string{`input "no-such-input" is not defined in action "slsabox build"`, "SC2086"} {
		if !strings.Contains(out, want) {
			t.Errorf("actionlint did not report %q:\n%s", want, out)
		}
	}
}

// TestShellcheck checks the scripts action.yml runs.
func TestShellcheck(t *testing.T) {
	root := testenv.RepoRoot(t)
	scripts, err := filepath.Glob(filepath.Join(root, "scripts", "action", "*.sh"))
	if err != nil || len(scripts) < 3 {
		t.Fatalf("scripts/action/*.sh: %v %v", scripts, err)
	}
	scripts = append(scripts, filepath.Join(root, "scripts", "containerd.sh"))
	cmd := exec.Command(testenv.Tool(t, "shellcheck"), append([]string{"-x"}, scripts...)...)
	cmd.Dir = filepath.Join(root, "scripts", "action")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("shellcheck: %v\n%s", err, out)
	}
}

// TestActionSchema validates action.yml against the action metadata schema.
func TestActionSchema(t *testing.T) {
	validator := testenv.Tool(t, "action-validator")
	if out, err := exec.Command(validator, filepath.Join(testenv.RepoRoot(t), "action.yml")).CombinedOutput(); err != nil {
		t.Fatalf("action-validator action.yml: %v\n%s", err, out)
	}
	// And it does reject: an action without runs.
	bad := filepath.Join(t.TempDir(), "action.yml")
	if err := os.WriteFile(bad, []byte("name: x\ndescription: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(validator, bad).CombinedOutput(); err == nil {
		t.Fatalf("action-validator accepted an action without runs:\n%s", out)
	}
}
