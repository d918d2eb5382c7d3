//go:build integration

package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/slsabox/slsabox/attest/sbom"
	"github.com/slsabox/slsabox/internal/sbomcheck"
	"github.com/slsabox/slsabox/internal/syfttest"
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

// validateSBOMs checks SBOM bundles against the official CycloneDX 1.6 and SPDX 2.3
// JSON schemas with the independent validator (scripts/sbom-validate, Ajv on node).
func validateSBOMs(t *testing.T, bundles ...string) {
	t.Helper()
	node, script := testenv.SBOMValidator(t)
	if report, err := sbomcheck.Validate(context.Background(), node, script, bundles...); err != nil {
		t.Errorf("the SBOMs do not validate against the official schemas: %v", err)
	} else {
		t.Logf("%s", report)
	}
}

// sbomModules reads the Go modules an SBOM bundle lists as contained in subject, by
// purl: path@version.
func sbomModules(t *testing.T, bundlePath, subject string) map[string]string {
	t.Helper()
	stdout, stderr, code := slsabox(t, "sbom", "show", "--output", "json", bundlePath)
	if code != 0 {
		t.Fatalf("sbom show exited %d: %s", code, stderr)
	}
	var shown struct {
		Components []struct{ Type, Name, Version, ID, Role string }
	}
	if err := json.Unmarshal([]byte(stdout), &shown); err != nil {
		t.Fatalf("sbom show --output json: %v\n%s", err, stdout)
	}
	mods := map[string]string{}
	for _, c := range shown.Components {
		if c.Role != "contained in "+subject || !strings.HasPrefix(c.ID, "pkg:golang/") {
			continue
		}
		p, v, _ := strings.Cut(strings.TrimPrefix(c.ID, "pkg:golang/"), "@")
		mods[p] = v
	}
	return mods
}

// TestSBOM builds examples/go-deps (CycloneDX and SPDX) and examples/crane (a real
// third-party program from the module proxy) signed and logged, and checks the signed
// SBOMs: logged, valid against the official schemas (an independent validator),
// accepted by slsabox verify --sbom and by cosign verify-blob-attestation --type
// cyclonedx (and refused for another artifact), refused when tampered or when they
// describe other artifacts; every Go module syft finds in each binary is in the SBOM
// at the same version; sbom show lists them.
func TestSBOM(t *testing.T) {
	testenv.Containerd(t)
	url, trustedRoot := testenv.Rekor(t)
	image := testenv.Image(t, "go-toolchain.tar")
	key := keygen(t)
	cache := t.TempDir()
	signed := []string{"--key", key + ".key", "--rekor-url", url, "--rekor-version", rekorVersion(), "--cache-dir", cache}

	type built struct{ out, binary string }
	build := func(example, binary string, extra ...string) built {
		dir := copyExample(t, example, image)
		out := filepath.Join(t.TempDir(), "out")
		stdout, stderr, code := slsabox(t, append(append([]string{"build", dir, "-o", out, "--output", "json"}, signed...), extra...)...)
		if code != 0 {
			t.Fatalf("slsabox build %s exited %d:\n%s", example, code, stderr)
		}
		var res struct {
			Provenance struct {
				Logged bool
				SBOM   *struct {
					Bundle, Format string
					Logged         bool
					LogIndex       int64
				}
			}
		}
		if err := json.Unmarshal([]byte(stdout), &res); err != nil {
			t.Fatal(err)
		}
		sb := res.Provenance.SBOM
		if sb == nil || sb.Bundle != filepath.Join(out, "sbom.sigstore.json") || !sb.Logged || !res.Provenance.Logged {
			t.Fatalf("%s: the result names no logged SBOM beside a logged provenance: %s", example, stdout)
		}
		return built{out, filepath.Join(out, binary)}
	}
	deps := build("go-deps", "greet")
	depsSPDX := build("go-deps", "greet", "--sbom-format", "spdx")
	crane := build("crane", "crane")
	sbomOf := func(b built) string { return filepath.Join(b.out, "sbom.sigstore.json") }
	provOf := func(b built) string { return filepath.Join(b.out, "provenance.sigstore.json") }

	validateSBOMs(t, sbomOf(deps), sbomOf(depsSPDX), sbomOf(crane))

	verify := func(b built, sbomBundle string, extra ...string) (string, int) {
		stdout, stderr, code := slsabox(t, append([]string{"verify", b.binary, "--bundle", provOf(b), "--sbom", sbomBundle,
			"--key", key + ".pub", "--trusted-root", trustedRoot, "--builder-id", defaultBuilderID,
			"--allow-any-source-unsafe"}, extra...)...)
		return stdout + stderr, code
	}
	for _, b := range []built{deps, depsSPDX, crane} {
		if out, code := verify(b, sbomOf(b), "--require-sbom"); code != 0 || !strings.Contains(out, "VERIFIED SBOM") {
			t.Errorf("verify --sbom %s: exit %d\n%s", sbomOf(b), code, out)
		}
	}
	// Another build's SBOM of other artifacts is refused; the SPDX one of the same
	// (reproducible) binary is not another artifact.
	if out, code := verify(deps, sbomOf(crane)); code != 1 || !strings.Contains(out, "FAIL same subjects as the provenance") {
		t.Errorf("verify --sbom with crane's SBOM for greet: exit %d, want 1\n%s", code, out)
	}
	if out, code := verify(deps, sbomOf(depsSPDX)); code != 0 {
		t.Errorf("verify --sbom with the SPDX SBOM of the same binary: exit %d\n%s", code, out)
	}
	// A tampered SBOM bundle: one byte of the signed statement changed.
	data, err := os.ReadFile(sbomOf(deps))
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	env := raw["dsseEnvelope"].(map[string]any)
	payload, err := base64.StdEncoding.DecodeString(env["payload"].(string))
	if err != nil {
		t.Fatal(err)
	}
	payload = bytes.Replace(payload, []byte("golang.org/x/text"), []byte("golang.org/x/tExt"), 1)
	env["payload"] = base64.StdEncoding.EncodeToString(payload)
	tampered := filepath.Join(t.TempDir(), "tampered.sigstore.json")
	if data, err = json.Marshal(raw); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(tampered, data, 0o644)
	if out, code := verify(deps, tampered); code != 1 || !strings.Contains(out, "FAIL signature") {
		t.Errorf("verify --sbom with a tampered SBOM: exit %d, want 1\n%s", code, out)
	}

	// cosign, an independent verifier, with its cyclonedx predicate type.
	cosign := testenv.Tool(t, "cosign")
	cosignVerify := func(bundle, typ, artifact string) (string, error) {
		out, err := exec.Command(cosign, "verify-blob-attestation", "--key", key+".pub", "--bundle", bundle,
			"--type", typ, "--trusted-root", trustedRoot, artifact).CombinedOutput()
		return string(out), err
	}
	if out, err := cosignVerify(sbomOf(deps), "cyclonedx", deps.binary); err != nil || !strings.Contains(out, "Verified OK") {
		t.Errorf("cosign verify-blob-attestation --type cyclonedx: %v\n%s", err, out)
	}
	if out, err := cosignVerify(sbomOf(depsSPDX), "spdxjson", deps.binary); err != nil || !strings.Contains(out, "Verified OK") {
		t.Errorf("cosign verify-blob-attestation --type spdxjson: %v\n%s", err, out)
	}
	if out, err := cosignVerify(sbomOf(deps), "cyclonedx", crane.binary); err == nil {
		t.Errorf("cosign accepted greet's SBOM for crane:\n%s", out)
	}
	if out, err := cosignVerify(tampered, "cyclonedx", deps.binary); err == nil {
		t.Errorf("cosign accepted a tampered SBOM:\n%s", out)
	}

	// syft, the peer that reads Go modules from binaries: everything it finds is in
	// the SBOM, at the same version.
	syft := testenv.Tool(t, "syft")
	for _, b := range []struct {
		built
		sbom, subject string
	}{{deps, sbomOf(deps), "greet"}, {depsSPDX, sbomOf(depsSPDX), "greet"}, {crane, sbomOf(crane), "crane"}} {
		found, err := syfttest.GoModules(context.Background(), syft, b.binary)
		if err != nil {
			t.Fatal(err)
		}
		listed := sbomModules(t, b.sbom, b.subject)
		if len(found) == 0 || len(listed) < len(found) {
			t.Errorf("%s: syft found %d modules, the SBOM lists %d", b.sbom, len(found), len(listed))
		}
		for p, v := range found {
			if listed[p] != v {
				t.Errorf("%s: syft finds %s@%s in %s, the SBOM lists %q", b.sbom, p, v, b.subject, listed[p])
			}
		}
		t.Logf("%s: syft %d modules, SBOM %d contained in %s", b.sbom, len(found), len(listed), b.subject)
	}

	// sbom show prints the table.
	stdout, _, code := slsabox(t, "sbom", "show", sbomOf(crane))
	if code != 0 || !strings.Contains(stdout, "TYPE") || !strings.Contains(stdout, "pkg:golang/github.com/google/go-containerregistry@v0.21.7") {
		t.Errorf("sbom show: exit %d\n%s", code, stdout)
	}
}
