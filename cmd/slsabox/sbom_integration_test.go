//go:build integration

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/slsabox/slsabox/attest/sbom"
	"github.com/slsabox/slsabox/internal/testenv"
)

// TestGoDepsBuildInfo builds examples/go-deps and checks that the binary's Go
// modules, read from its build info, are in the result as linked (with the go.sum
// hashes of the gomod input), and that the SBOM of the build lists them in both
// formats as what the subject contains.
func TestGoDepsBuildInfo(t *testing.T) {
	testenv.Containerd(t)
	dir := copyExample(t, "go-deps", testenv.Image(t, "go-toolchain.tar"))
	out := filepath.Join(t.TempDir(), "out")
	res := buildJSON(t, dir, out, "--unsigned", "--cache-dir", t.TempDir())

	if len(res.Subjects) != 1 || res.Subjects[0].Go == nil {
		t.Fatalf("subjects = %+v, want greet with its Go build info", res.Subjects)
	}
	g := res.Subjects[0].Go
	if g.GoVersion != "go1.26.8" || g.Package != "example.com/go-deps/cmd/greet" || g.Main.Path != "example.com/go-deps" {
		t.Errorf("build info = %s %s main %+v", g.GoVersion, g.Package, g.Main)
	}
	sums := map[string]string{}
	for _, in := range res.Inputs {
		sums[strings.TrimPrefix(in.URI, "pkg:golang/")] = in.GoSum
	}
	linked := map[string]bool{}
	for _, m := range g.Deps {
		key := m.Path + "@" + m.Version
		linked[key] = true
		if m.Sum == "" || m.Sum != sums[key] {
			t.Errorf("%s linked with hash %q, the gomod input pins %q", key, m.Sum, sums[key])
		}
	}
	for _, want := range []string{"github.com/spf13/pflag@v1.0.10", "golang.org/x/text@v0.43.0"} {
		if !linked[want] {
			t.Errorf("the build info lacks %s: %+v", want, g.Deps)
		}
	}

	b := describeBuild(res, "", "")
	for _, f := range []sbom.Format{sbom.CycloneDX, sbom.SPDX} {
		st, err := sbom.Statement(b, f, sbom.WithTool("slsabox", "test"))
		if err != nil {
			t.Fatal(err)
		}
		pred, err := protojson.Marshal(st.Predicate)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := sbom.Components(st.PredicateType, pred)
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, r := range rows {
			have[r.Role+" "+r.ID] = true
		}
		for _, want := range []string{"contained in greet pkg:golang/github.com/spf13/pflag@v1.0.10", "contained in greet pkg:golang/golang.org/x/text@v0.43.0",
			"contained in greet pkg:golang/stdlib@1.26.8", "input pkg:golang/golang.org/x/text@v0.43.0", "subject sha256:" + res.Subjects[0].SHA256} {
			if !have[want] {
				t.Errorf("%s: the SBOM lacks %s", f, want)
			}
		}
	}
}

// TestUndeclaredModuleRefused: a Go binary committed to the source (built elsewhere,
// linking golang.org/x/mod, which no input pins) and copied to /out fails the build
// with exit 1, naming the binary and the module, and nothing is published.
func TestUndeclaredModuleRefused(t *testing.T) {
	testenv.Containerd(t)
	dir := copyExample(t, "go-deps", testenv.Image(t, "go-toolchain.tar"))
	smuggled := hostGoBinary(t)
	if err := os.MkdirAll(filepath.Join(dir, "prebuilt"), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", smuggled, filepath.Join(dir, "prebuilt", "tool")).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	setSteps(t, dir, `  - name: build
    run: [sh, -c, "go build -trimpath -o /out/greet ./cmd/greet && cp prebuilt/tool /out/tool"]
    env: {CGO_ENABLED: "0", GOCACHE: /src/.cache/go-build}
`)
	commitAll(t, dir, "a prebuilt binary")
	out := filepath.Join(t.TempDir(), "out")
	_, stderr, code := slsabox(t, "build", dir, "-o", out, "--unsigned", "--cache-dir", t.TempDir())
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, stderr)
	}
	for _, want := range []string{"/out/tool links golang.org/x/mod@v0.41.0, which no gomod input pins and the source does not vendor",
		"add a gomod: go.sum input whose go.sum pins golang.org/x/mod@v0.41.0"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("the output directory was published (%v)", err)
	}
}

// hostGoBinary builds, on the host, a program that links golang.org/x/mod v0.41.0
// (slsabox's own dependency, so in the host's module cache), offline.
func hostGoBinary(t *testing.T) string {
	t.Helper()
	src := t.TempDir()
	var sum bytes.Buffer
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "golang.org/x/mod v0.41.0 ") || strings.HasPrefix(l, "golang.org/x/mod v0.41.0/go.mod ") {
			sum.WriteString(l + "\n")
		}
	}
	files := map[string]string{
		"go.mod":  "module example.com/smuggle\n\ngo 1.26\n\nrequire golang.org/x/mod v0.41.0\n",
		"go.sum":  sum.String(),
		"main.go": "package main\n\nimport (\n\t\"fmt\"\n\n\t\"golang.org/x/mod/semver\"\n)\n\nfunc main() { fmt.Println(semver.IsValid(\"v1.0.0\")) }\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(src, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(t.TempDir(), "tool")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=mod", "GOWORK=off", "CGO_ENABLED=0", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the smuggled binary: %v\n%s", err, out)
	}
	return bin
}

// TestVendoredModulesAccepted: examples/go-deps with its modules vendored (go mod
// vendor, committed) and no gomod input builds: the vendored modules are recorded,
// and the binary's modules are accepted as vendored.
func TestVendoredModulesAccepted(t *testing.T) {
	testenv.Containerd(t)
	dir := copyExample(t, "go-deps", testenv.Image(t, "go-toolchain.tar"))
	vendor := exec.Command("go", "mod", "vendor")
	vendor.Dir = dir
	vendor.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "GOTOOLCHAIN=local")
	if out, err := vendor.CombinedOutput(); err != nil {
		t.Fatalf("go mod vendor: %v\n%s", err, out)
	}
	def, err := os.ReadFile(filepath.Join(dir, "slsabox.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	def = bytes.Replace(def, []byte("inputs:\n  - gomod: go.sum\n"), nil, 1)
	if err := os.WriteFile(filepath.Join(dir, "slsabox.yaml"), def, 0o644); err != nil {
		t.Fatal(err)
	}
	commitAll(t, dir, "vendor the modules")
	res := buildJSON(t, dir, filepath.Join(t.TempDir(), "out"), "--unsigned")
	if len(res.Inputs) != 0 {
		t.Errorf("inputs %+v, want none", res.Inputs)
	}
	vendored := map[string]bool{}
	for _, m := range res.Vendored {
		vendored[m.String()] = true
	}
	for _, want := range []string{"github.com/spf13/pflag@v1.0.10", "golang.org/x/text@v0.43.0"} {
		if !vendored[want] {
			t.Errorf("vendored %v lacks %s", res.Vendored, want)
		}
	}
	if len(res.Subjects) != 1 || res.Subjects[0].Go == nil || len(res.Subjects[0].Go.Deps) < 2 {
		t.Fatalf("subjects %+v, want greet with its modules", res.Subjects)
	}
}
