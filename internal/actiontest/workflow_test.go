package actiontest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/slsabox/slsabox/internal/testenv"
)

// step is the part of a workflow or composite action step these checks read.
type step struct {
	ID   string            `yaml:"id"`
	If   string            `yaml:"if"`
	Uses string            `yaml:"uses"`
	Run  string            `yaml:"run"`
	With map[string]string `yaml:"with"`
	Env  map[string]string `yaml:"env"`
}

type action struct {
	Inputs  map[string]struct{ Description, Default string } `yaml:"inputs"`
	Outputs map[string]struct{ Description, Value string }   `yaml:"outputs"`
	Runs    struct {
		Using string `yaml:"using"`
		Steps []step `yaml:"steps"`
	} `yaml:"runs"`
}

type workflow struct {
	Permissions yaml.Node `yaml:"permissions"`
	Jobs        map[string]struct {
		Permissions yaml.Node `yaml:"permissions"`
		Steps       []step    `yaml:"steps"`
	} `yaml:"jobs"`
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func readAction(t *testing.T) action {
	var a action
	readYAML(t, filepath.Join(testenv.RepoRoot(t), "action.yml"), &a)
	return a
}

// workflows returns the example workflows and the ones the act tests run.
func workflows(t *testing.T) []string {
	root := testenv.RepoRoot(t)
	files, err := filepath.Glob(filepath.Join(root, "examples", "workflows", "*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no workflows in examples/workflows (%v)", err)
	}
	acts, err := filepath.Glob(filepath.Join(root, "internal", "actiontest", "testdata", "action-*.yml"))
	if err != nil || len(acts) < 3 {
		t.Fatalf("want the act tests' workflows in internal/actiontest/testdata, found %v (%v)", acts, err)
	}
	return append(files, acts...)
}

var (
	pinned     = regexp.MustCompile(`^[\w.-]+/[\w./-]+@[0-9a-f]{40}$`)
	expression = regexp.MustCompile(`\$\{\{`)
)

// stepProblems applies the rules every step follows: third-party actions pinned by
// full commit SHA, and no ${{ }} in shell, where an input's value would become code.
func stepProblems(where string, steps []step) []string {
	var problems []string
	for i, s := range steps {
		name := fmt.Sprintf("%s: step %d (%s)", where, i+1, firstOf(s.ID, s.Uses, strings.SplitN(s.Run, "\n", 2)[0]))
		if s.Uses != "" && !strings.HasPrefix(s.Uses, "./") && !pinned.MatchString(s.Uses) {
			problems = append(problems, fmt.Sprintf("%s: uses %q is not pinned by a full commit SHA", name, s.Uses))
		}
		if expression.MatchString(s.Run) {
			problems = append(problems, name+": run: holds ${{ }}; pass the value through env: instead")
		}
	}
	return problems
}

func checkSteps(t *testing.T, where string, steps []step) {
	t.Helper()
	for _, p := range stepProblems(where, steps) {
		t.Error(p)
	}
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func TestActionMetadata(t *testing.T) {
	a := readAction(t)
	if a.Runs.Using != "composite" {
		t.Errorf("runs.using is %q, want composite (no Node runtime)", a.Runs.Using)
	}
	checkSteps(t, "action.yml", a.Runs.Steps)

	// Every input is wired to a step, and every input a step reads is declared.
	used := map[string]bool{}
	ref := regexp.MustCompile(`inputs\.([\w-]+)`)
	for _, s := range a.Runs.Steps {
		texts := []string{s.If}
		for _, m := range []map[string]string{s.With, s.Env} {
			for _, v := range m {
				texts = append(texts, v)
			}
		}
		for _, txt := range texts {
			for _, m := range ref.FindAllStringSubmatch(txt, -1) {
				used[m[1]] = true
				if _, ok := a.Inputs[m[1]]; !ok {
					t.Errorf("a step reads inputs.%s, which action.yml does not declare", m[1])
				}
			}
		}
	}
	for name, in := range a.Inputs {
		if !used[name] {
			t.Errorf("input %s is declared but no step reads it", name)
		}
		if in.Description == "" {
			t.Errorf("input %s has no description", name)
		}
	}
	for _, want := range []string{"bundle", "subjects", "log-index"} {
		if _, ok := a.Outputs[want]; !ok {
			t.Errorf("output %s is missing", want)
		}
	}
	// The documented inputs and outputs are exactly the declared ones.
	doc, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "docs", "github-action.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, names := range [][]string{keys(a.Inputs), keys(a.Outputs)} {
		for _, n := range names {
			if !strings.Contains(string(doc), "| `"+n+"` |") {
				t.Errorf("docs/github-action.md has no table row for %s", n)
			}
		}
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestWorkflowsPinnedAndMinimal(t *testing.T) {
	for _, file := range workflows(t) {
		var w workflow
		readYAML(t, file, &w)
		name := filepath.Base(file)
		if w.Permissions.Kind == 0 {
			t.Errorf("%s: no top-level permissions: (the default token may write)", name)
		}
		if len(w.Jobs) == 0 {
			t.Errorf("%s: no jobs", name)
		}
		for job, j := range w.Jobs {
			checkSteps(t, name+": job "+job, j.Steps)
			for _, s := range j.Steps {
				if strings.HasPrefix(s.Uses, "actions/checkout@") && s.With["persist-credentials"] != "false" {
					t.Errorf("%s: job %s: actions/checkout without persist-credentials: false", name, job)
				}
			}
		}
	}
}

// The rules catch what they are meant to: a checker that passes everything proves nothing.
func TestStepRulesReject(t *testing.T) {
	bad := []step{
		{Uses: "actions/checkout@v7"},
		{Uses: "actions/checkout@3d3c42e"},
		{Run: `echo "${{ inputs.name }}"`},
	}
	for _, s := range bad {
		if len(stepProblems("probe", []step{s})) == 0 {
			t.Errorf("step %+v passed the rules", s)
		}
	}
}
