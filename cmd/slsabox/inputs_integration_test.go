//go:build integration

package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/slsabox/slsabox/attest"
	"github.com/slsabox/slsabox/internal/testenv"
)

// commitAll commits the work tree of a repository made by copyExample.
func commitAll(t *testing.T, dir, msg string) {
	t.Helper()
	for _, args := range [][]string{{"add", "-A"}, {"-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", msg}} {
		if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
}

// setSteps replaces the steps: block of a slsabox.yaml and collects every file of /out.
func setSteps(t *testing.T, dir, steps string) {
	t.Helper()
	f := filepath.Join(dir, "slsabox.yaml")
	def, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	def = regexp.MustCompile(`(?s)steps:\n.*?\noutputs:[^\n]*`).ReplaceAll(def, []byte("steps:\n"+steps+`outputs: ["/out/*"]`))
	if err := os.WriteFile(f, def, 0o644); err != nil {
		t.Fatal(err)
	}
}

// noStepRan fails the test if a build's stderr shows that a step started.
func noStepRan(t *testing.T, stderr string) {
	t.Helper()
	if regexp.MustCompile(`(?m)^slsabox: step \S+: `).MatchString(stderr) {
		t.Errorf("a step ran although the inputs were bad:\n%s", stderr)
	}
}

// TestGoDepsHermeticAndRebuild builds examples/go-deps (pflag and x/text from the
// module proxy) in the sandbox, with no network, from the module cache slsabox
// fetched and verified; checks the modules are in the provenance; and runs slsabox
// rebuild on the bundle, which must report the subject reproduced.
func TestGoDepsHermeticAndRebuild(t *testing.T) {
	testenv.Containerd(t)
	url, trustedRoot := testenv.Rekor(t)
	dir := copyExample(t, "go-deps", testenv.Image(t, "go-toolchain.tar"))
	key := keygen(t)
	cache := t.TempDir()
	out := filepath.Join(t.TempDir(), "out")
	res := buildJSON(t, dir, out, "--key", key+".key", "--rekor-url", url, "--rekor-version", rekorVersion(), "--cache-dir", cache)

	got, err := exec.Command(filepath.Join(out, "greet"), "-n", "jürgen van dijk", "-l", "de").CombinedOutput()
	if err != nil || strings.TrimSpace(string(got)) != "Hello, Jürgen Van Dijk! (1.234.567)" {
		t.Errorf("built program: %q, %v", got, err)
	}
	uris := map[string]string{}
	for _, in := range res.Inputs {
		uris[in.URI] = in.Digest["dirHash"]
	}
	for _, want := range []string{"pkg:golang/github.com/spf13/pflag@v1.0.10", "pkg:golang/golang.org/x/text@v0.43.0",
		"pkg:golang/golang.org/x/text@v0.43.0#go.mod"} {
		if len(uris[want]) != 64 {
			t.Errorf("result inputs lack %s with a dirHash: %v", want, uris)
		}
	}
	// The same dependencies are in the signed provenance.
	st := bundleStatement(t, filepath.Join(out, attest.BundleFile))
	rec, err := attest.ReadProvenance(st)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Inputs) != len(res.Inputs) || len(rec.Inputs) != 4 {
		t.Errorf("provenance lists %d inputs, the build %d (want 4: two zips, two go.mod)", len(rec.Inputs), len(res.Inputs))
	}

	verifier := keygen(t)
	vsaPath := filepath.Join(t.TempDir(), "rebuild.vsa.json")
	stdout, stderr, code := slsabox(t, "rebuild", "--bundle", filepath.Join(out, attest.BundleFile), "--key", key+".pub",
		"--trusted-root", trustedRoot, "--cache-dir", cache, dir,
		"--vsa-out", vsaPath, "--vsa-key", verifier+".key", "--vsa-resource-uri", "https://example.org/releases/greet")
	t.Logf("rebuild:\n%s", stdout)
	if code != 0 {
		t.Fatalf("rebuild exited %d:\n%s\n%s", code, stdout, stderr)
	}
	// The VSA, checked with securesystemslib's DSSE: PASSED, level 1 (no level was
	// claimed for the builder), reproduced, and the opt-outs this rebuild's policy used
	// (any builder, any source), each recorded.
	vsa, err := openVSA(t, vsaPath, verifier+".pub")
	if err != nil {
		t.Fatalf("rebuild VSA signature: %v", err)
	}
	if vsa.Predicate.VerificationResult != "PASSED" || strings.Join(vsa.Predicate.VerifiedLevels, ",") != "SLSA_BUILD_LEVEL_1,SLSABOX_BUILD_REPRODUCED,SLSABOX_OPT_OUT_ALLOW_ANY_BUILDER,SLSABOX_OPT_OUT_ALLOW_ANY_SOURCE" ||
		len(vsa.Subject) != 1 || vsa.Subject[0].Name != "greet" || len(vsa.Subject[0].Digest["sha256"]) != 64 {
		t.Errorf("rebuild VSA: %+v", vsa)
	}
	if !regexp.MustCompile(`(?m)^greet\s+sha256:\S+\s+sha256:\S+\s+reproduced$`).MatchString(stdout) ||
		!strings.Contains(stdout, "reproduced: all 1 subjects") {
		t.Errorf("rebuild output does not report greet reproduced:\n%s", stdout)
	}
	if !strings.Contains(stderr, "inputs ready and verified") || strings.Contains(stderr, "fetched") {
		t.Errorf("the rebuild should have used the warm cache without fetching:\n%s", stderr)
	}
}

// TestInputsCheckedBeforeAnyStep: a module changed in the host cache, a url input
// whose sha256 is wrong, and a go.mod requirement missing from go.sum each fail the
// build with an error that names the problem, before any step starts.
func TestInputsCheckedBeforeAnyStep(t *testing.T) {
	testenv.Containerd(t)
	goImage := testenv.Image(t, "go-toolchain.tar")

	t.Run("tampered module in the cache", func(t *testing.T) {
		dir := copyExample(t, "go-deps", goImage)
		// go list -deps loads every package the program imports from the mounted cache alone.
		setSteps(t, dir, "  - name: list\n    run: [sh, -c, \"go list -deps -f '{{with .Module}}{{.Path}} {{.Version}}{{end}}' ./... | sort -u > /out/modules.txt\"]\n")
		commitAll(t, dir, "list modules")
		cache := t.TempDir()
		out := filepath.Join(t.TempDir(), "out")
		buildJSON(t, dir, out, "--unsigned", "--cache-dir", cache)
		mods, _ := os.ReadFile(filepath.Join(out, "modules.txt"))
		if !strings.Contains(string(mods), "golang.org/x/text v0.43.0") || !strings.Contains(string(mods), "github.com/spf13/pflag v1.0.10") {
			t.Errorf("go list -deps in the sandbox: %s", mods)
		}
		f := filepath.Join(cache, "gomod", "golang.org", "x", "text@v0.43.0", "cases", "cases.go")
		if err := os.Chmod(f, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte("package cases // tampered\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, stderr, code := slsabox(t, "build", dir, "-o", filepath.Join(t.TempDir(), "out2"), "--unsigned", "--cache-dir", cache)
		if code != 1 || !strings.Contains(stderr, "golang.org/x/text@v0.43.0 in the module cache") || !strings.Contains(stderr, "go.sum says h1:") ||
			!strings.Contains(stderr, "hint: the host's module cache was changed") {
			t.Errorf("tampered module: exit %d, want 1 naming the module:\n%s", code, stderr)
		}
		noStepRan(t, stderr)
	})

	t.Run("wrong sha256", func(t *testing.T) {
		body := []byte("dependency bytes\n")
		sum := sha256.Sum256(body)
		good := hex.EncodeToString(sum[:])
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
		defer srv.Close()
		project := func(sha string) string {
			dir := t.TempDir()
			def := "version: 1\nimage: " + testenv.Image(t, "testbox.tar") + "\ninputs:\n  - url: " + srv.URL + "/dep.txt\n    sha256: " + sha + "\n" +
				"steps:\n  - name: use\n    run: [sh, -c, \"cat /inputs/dep.txt > /out/copy.txt; if touch /inputs/x 2>/dev/null; then echo /inputs is writable; exit 1; fi\"]\n" +
				"outputs: [\"/out/*\"]\n"
			if err := os.WriteFile(filepath.Join(dir, "slsabox.yaml"), []byte(def), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command("git", "-C", dir, "init", "-q", "-b", "main").CombinedOutput(); err != nil {
				t.Fatalf("%v %s", err, out)
			}
			commitAll(t, dir, "url input")
			return dir
		}
		cache := t.TempDir()
		out := filepath.Join(t.TempDir(), "out")
		res := buildJSON(t, project(good), out, "--unsigned", "--cache-dir", cache)
		if copied, _ := os.ReadFile(filepath.Join(out, "copy.txt")); string(copied) != string(body) {
			t.Errorf("/inputs/dep.txt in the sandbox: %q", copied)
		}
		if len(res.Inputs) != 1 || res.Inputs[0].URI != srv.URL+"/dep.txt" || res.Inputs[0].Digest["sha256"] != good || res.Inputs[0].Path != "/inputs/dep.txt" {
			t.Errorf("inputs = %+v", res.Inputs)
		}
		wrong := strings.Repeat("0", 64)
		_, stderr, code := slsabox(t, "build", project(wrong), "-o", filepath.Join(t.TempDir(), "out"), "--unsigned", "--cache-dir", cache)
		if code != 1 || !strings.Contains(stderr, "has sha256 "+good+", slsabox.yaml says "+wrong) {
			t.Errorf("wrong sha256: exit %d, want 1 naming both digests:\n%s", code, stderr)
		}
		noStepRan(t, stderr)
	})

	t.Run("go.mod requirement not in go.sum", func(t *testing.T) {
		dir := copyExample(t, "go-deps", goImage)
		f := filepath.Join(dir, "go.mod")
		mod, _ := os.ReadFile(f)
		if err := os.WriteFile(f, append(mod, []byte("\nrequire github.com/google/uuid v1.6.0\n")...), 0o644); err != nil {
			t.Fatal(err)
		}
		commitAll(t, dir, "add a dependency without go.sum")
		_, stderr, code := slsabox(t, "build", dir, "-o", filepath.Join(t.TempDir(), "out"), "--unsigned", "--cache-dir", t.TempDir())
		if code != 2 || !strings.Contains(stderr, "requires github.com/google/uuid@v1.6.0, which go.sum does not pin") || !strings.Contains(stderr, "go mod tidy") {
			t.Errorf("missing go.sum entry: exit %d, want 2 naming the module:\n%s", code, stderr)
		}
		noStepRan(t, stderr)
	})
}

// TestRebuildNotReproducible: a build that embeds the time (the clock, and the uptime
// for 10 ms resolution, in case date's resolution is seconds) is rebuilt, and rebuild
// names the subject that differs (and the one that does not) and exits 1.
func TestRebuildNotReproducible(t *testing.T) {
	testenv.Containerd(t)
	dir := t.TempDir()
	def := "version: 1\nimage: " + testenv.Image(t, "testbox.tar") + "\nsteps:\n" +
		"  - name: stamp\n    run: [sh, -c, \"{ date -u; cat /proc/uptime; } > /out/stamp.txt; echo same > /out/same.txt\"]\n" +
		"outputs: [\"/out/*\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "slsabox.yaml"), []byte(def), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("git", "-C", dir, "init", "-q", "-b", "main").CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	commitAll(t, dir, "a build that embeds the time")
	key := keygen(t)
	out := filepath.Join(t.TempDir(), "out")
	buildJSON(t, dir, out, "--key", key+".key", "--no-tlog")
	bundle := filepath.Join(out, attest.BundleFile)

	kept := filepath.Join(t.TempDir(), "rebuilt")
	stdout, stderr, code := slsabox(t, "rebuild", "--bundle", bundle, "--key", key+".pub", "--no-tlog-unsafe", "-o", kept, dir)
	t.Logf("rebuild:\n%s", stdout)
	if code != 1 {
		t.Fatalf("rebuild exited %d, want 1:\n%s\n%s", code, stdout, stderr)
	}
	if !regexp.MustCompile(`(?m)^stamp\.txt\s+sha256:\S+\s+sha256:\S+\s+DIFFERS$`).MatchString(stdout) ||
		!regexp.MustCompile(`(?m)^same\.txt\s+sha256:\S+\s+sha256:\S+\s+reproduced$`).MatchString(stdout) ||
		!strings.Contains(stdout, "NOT reproduced: 1 of 2 subjects differ") {
		t.Errorf("rebuild table:\n%s", stdout)
	}
	if !strings.Contains(stderr, "not reproduced: 1 of 2 subjects differ: stamp.txt") {
		t.Errorf("rebuild error does not name stamp.txt:\n%s", stderr)
	}
	if _, err := os.Stat(filepath.Join(kept, "stamp.txt")); err != nil {
		t.Errorf("-o did not keep the rebuilt artifacts: %v", err)
	}

	// JSON names the same subject, with full digests.
	stdout, _, code = slsabox(t, "rebuild", "--bundle", bundle, "--key", key+".pub", "--no-tlog-unsafe", "--output", "json", dir)
	var rep struct {
		Reproduced bool `json:"reproduced"`
		Subjects   []struct {
			Name, Recorded, Rebuilt string
			Match                   bool
		} `json:"subjects"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || code != 1 || rep.Reproduced || len(rep.Subjects) != 2 {
		t.Fatalf("rebuild --output json: exit %d, %v\n%s", code, err, stdout)
	}
	for _, s := range rep.Subjects {
		if (s.Name == "stamp.txt") == s.Match || len(s.Recorded) != 64 || len(s.Rebuilt) != 64 {
			t.Errorf("subject %+v", s)
		}
	}

	// A rebuild that differs writes a FAILED VSA, never a PASSED one.
	verifier := keygen(t)
	vsaPath := filepath.Join(t.TempDir(), "rebuild.vsa.json")
	vsaFlags := []string{"--vsa-out", vsaPath, "--vsa-key", verifier + ".key", "--vsa-resource-uri", "https://example.org/releases/stamp"}
	_, stderr, code = slsabox(t, append([]string{"rebuild", "--bundle", bundle, "--key", key + ".pub", "--no-tlog-unsafe", dir}, vsaFlags...)...)
	if code != 1 {
		t.Fatalf("rebuild --vsa-out exited %d, want 1:\n%s", code, stderr)
	}
	if vsa, err := openVSA(t, vsaPath, verifier+".pub"); err != nil || vsa.Predicate.VerificationResult != "FAILED" ||
		strings.Join(vsa.Predicate.VerifiedLevels, ",") != "FAILED" || len(vsa.Subject) != 2 {
		t.Errorf("rebuild VSA of a build that differs: %+v, %v", vsa, err)
	}

	// A bundle signed by another key is not rebuilt at all (and its VSA is FAILED).
	other := keygen(t)
	_, stderr, code = slsabox(t, append([]string{"rebuild", "--bundle", bundle, "--key", other + ".pub", "--no-tlog-unsafe", dir}, vsaFlags...)...)
	if code != 1 || !strings.Contains(stderr, "signature") || strings.Contains(stderr, "step stamp") {
		t.Errorf("wrong key: exit %d:\n%s", code, stderr)
	}
	if vsa, err := openVSA(t, vsaPath, verifier+".pub"); err != nil || vsa.Predicate.VerificationResult != "FAILED" {
		t.Errorf("rebuild VSA of a bundle that does not verify: %+v, %v", vsa, err)
	}
	// --vsa-out without --vsa-resource-uri is a usage error before anything runs.
	if _, stderr, code = slsabox(t, "rebuild", "--bundle", bundle, "--key", key+".pub", "--no-tlog-unsafe", "--vsa-out", vsaPath, "--vsa-key", verifier+".key", dir); code != 2 {
		t.Errorf("--vsa-out without --vsa-resource-uri: exit %d:\n%s", code, stderr)
	}
}

// TestRebuildRefuses: a recorded build of a dirty tree has no commit to rebuild, and a
// DIR whose repository lacks the recorded commit cannot provide it; both are bad
// input (exit 2) and nothing is built.
func TestRebuildRefuses(t *testing.T) {
	testenv.Containerd(t)
	dir := t.TempDir()
	def := "version: 1\nimage: " + testenv.Image(t, "testbox.tar") + "\nsteps:\n  - name: copy\n    run: [sh, -c, \"cat note.txt > /out/note.txt\"]\noutputs: [\"/out/*\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "slsabox.yaml"), []byte(def), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "note.txt"), []byte("committed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("git", "-C", dir, "init", "-q", "-b", "main").CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	commitAll(t, dir, "note")
	key := keygen(t)
	clean := filepath.Join(t.TempDir(), "clean")
	buildJSON(t, dir, clean, "--key", key+".key", "--no-tlog")

	other := t.TempDir()
	if out, err := exec.Command("git", "-C", other, "init", "-q", "-b", "main").CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	_, stderr, code := slsabox(t, "rebuild", "--bundle", filepath.Join(clean, attest.BundleFile), "--key", key+".pub", "--no-tlog-unsafe", other)
	if code != 2 || !strings.Contains(stderr, "is not in the repository") || strings.Contains(stderr, "step copy") {
		t.Errorf("repository without the commit: exit %d, want 2:\n%s", code, stderr)
	}

	if err := os.WriteFile(filepath.Join(dir, "note.txt"), []byte("uncommitted\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dirty := filepath.Join(t.TempDir(), "dirty")
	buildJSON(t, dir, dirty, "--key", key+".key", "--no-tlog", "--allow-dirty")
	_, stderr, code = slsabox(t, "rebuild", "--bundle", filepath.Join(dirty, attest.BundleFile), "--key", key+".pub", "--no-tlog-unsafe", dir)
	if code != 2 || !strings.Contains(stderr, "uncommitted changes") || strings.Contains(stderr, "step copy") {
		t.Errorf("dirty recorded build: exit %d, want 2:\n%s", code, stderr)
	}
}
