//go:build integration

package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slsabox/slsabox/builder"
	"github.com/slsabox/slsabox/internal/testenv"
)

var slsaboxBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "slsabox-cli-")
	if err != nil {
		panic(err)
	}
	slsaboxBin = filepath.Join(dir, "slsabox")
	build := exec.Command("go", "build", "-o", slsaboxBin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0") // static, as released
	if out, err := build.CombinedOutput(); err != nil {
		panic(string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// slsabox runs the real binary and returns stdout, stderr and the exit code.
func slsabox(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(slsaboxBin, args...)
	cmd.Env = append(os.Environ(), "SLSABOX_NAMESPACE=slsabox-test-cli")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

// copyExample copies examples/NAME into a fresh git repository, pointing its image at
// the locally built archive, and commits it.
func copyExample(t *testing.T, name, image string) string {
	t.Helper()
	src := filepath.Join(testenv.RepoRoot(t), "examples", name)
	dst := t.TempDir()
	if out, err := exec.Command("cp", "-a", src+"/.", dst).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	def, err := os.ReadFile(filepath.Join(dst, "slsabox.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	def = regexp.MustCompile(`(?m)^image: .*$`).ReplaceAll(def, []byte("image: "+image))
	if err := os.WriteFile(filepath.Join(dst, "slsabox.yaml"), def, 0o644); err != nil {
		t.Fatal(err)
	}
	gitInitCommit(t, dst)
	return dst
}

func buildJSON(t *testing.T, dir, out string, extra ...string) *builder.Result {
	t.Helper()
	stdout, stderr, code := slsabox(t, append([]string{"build", dir, "-o", out, "--output", "json"}, extra...)...)
	if code != 0 {
		t.Fatalf("slsabox build exited %d:\n%s", code, stderr)
	}
	var res builder.Result
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("--output json: %v\n%s", err, stdout)
	}
	return &res
}

// TestHelloGoReproducible builds examples/hello-go twice from the same commit with the
// Go toolchain image and checks the subjects are identical, and that the binary runs.
func TestHelloGoReproducible(t *testing.T) {
	testExampleReproducible(t, "hello-go", "go-toolchain.tar")
}

// TestCMakeReproducible does the same for examples/c-make with the Debian C image.
func TestCMakeReproducible(t *testing.T) {
	testExampleReproducible(t, "c-make", "debian-c.tar")
}

func testExampleReproducible(t *testing.T, example, image string) {
	testenv.Containerd(t)
	dir := copyExample(t, example, testenv.Image(t, image))
	key := keygen(t)
	out1, out2 := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	r1 := buildJSON(t, dir, out1, "--key", key+".key", "--no-tlog")
	r2 := buildJSON(t, dir, out2, "--unsigned")
	if len(r1.Subjects) == 0 {
		t.Fatal("no subjects")
	}
	validateSBOMs(t, filepath.Join(out1, "sbom.sigstore.json"))
	if _, err := os.Stat(filepath.Join(out2, "sbom.sigstore.json")); err == nil {
		t.Error("an unsigned build wrote an SBOM bundle")
	}
	for i := range r1.Subjects {
		if a, b := r1.Subjects[i], r2.Subjects[i]; a.Name != b.Name || a.SHA256 != b.SHA256 || a.Size != b.Size {
			t.Errorf("subject %d differs: %+v vs %+v", i, r1.Subjects[i], r2.Subjects[i])
		}
	}
	args := map[string][]string{"hello-go": {"-name", "slsabox"}, "c-make": {"slsabox"}}[example]
	out, err := exec.Command(filepath.Join(out1, "hello"), args...).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "Hello, slsabox!" {
		t.Errorf("built binary: %q, %v", out, err)
	}
	if r1.Source.Commit != r2.Source.Commit || r1.Image.ManifestDigest != r2.Image.ManifestDigest {
		t.Errorf("inputs differ between builds")
	}
	for _, s := range r1.Steps {
		if s.ExitCode != 0 || s.DurationMS <= 0 || s.PeakMemory == 0 || s.CPUTime == 0 {
			t.Errorf("step result incomplete: %+v", s)
		}
	}
	if _, err := os.Stat(filepath.Join(out1, "provenance.sigstore.json")); err != nil {
		t.Errorf("signed build wrote no bundle: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out2, "provenance.sigstore.json")); !os.IsNotExist(err) {
		t.Errorf("--unsigned build wrote a bundle")
	}
	cosignAccepts(t, key+".pub", filepath.Join(out1, "provenance.sigstore.json"), filepath.Join(out1, "hello"))
}

func keygen(t *testing.T) string {
	t.Helper()
	prefix := filepath.Join(t.TempDir(), "signing")
	if _, stderr, code := slsabox(t, "keygen", "--out", prefix); code != 0 {
		t.Fatalf("keygen exited %d: %s", code, stderr)
	}
	return prefix
}

// cosignAccepts runs the peer: cosign must accept the bundle for the artifact with the
// key, and refuse it for another artifact and with another key.
func cosignAccepts(t *testing.T, pub, bundle, artifact string) {
	t.Helper()
	cosign := testenv.Tool(t, "cosign")
	run := func(pub, artifact string) (string, error) {
		out, err := exec.Command(cosign, "verify-blob-attestation", "--key", pub, "--bundle", bundle,
			"--type", "slsaprovenance1", "--insecure-ignore-tlog", artifact).CombinedOutput()
		return string(out), err
	}
	if out, err := run(pub, artifact); err != nil || !strings.Contains(out, "Verified OK") {
		t.Fatalf("cosign rejects the bundle: %v\n%s", err, out)
	}
	other := filepath.Join(t.TempDir(), "other")
	os.WriteFile(other, []byte("not the artifact"), 0o644)
	if out, err := run(pub, other); err == nil {
		t.Errorf("cosign accepted the bundle for another artifact:\n%s", out)
	}
	otherKey := keygen(t)
	if out, err := run(otherKey+".pub", artifact); err == nil {
		t.Errorf("cosign accepted the bundle with another key:\n%s", out)
	}
}

// TestExamplesPinBuiltImages checks that the digests the examples pin are the ones the
// image scripts produce here. The Go toolchain image is made from the Go module proxy
// only, so its bytes are the same on every machine on any day, and the pins must
// match. The Debian C image comes from Debian's archive, which moves: its pin is
// derived here (the example tests build with the image built here, see copyExample),
// and scripts/images/pin.sh, the documented way to re-pin the committed example on a
// fresh machine, must make the committed definition name this machine's image.
func TestExamplesPinBuiltImages(t *testing.T) {
	for example, archive := range map[string]string{"hello-go": "go-toolchain.tar", "go-deps": "go-toolchain.tar", "hello-image": "go-toolchain.tar", "crane": "go-toolchain.tar"} {
		want := testenv.Image(t, archive)
		def, err := builder.LoadDefinition(filepath.Join(testenv.RepoRoot(t), "examples", example), "")
		if err != nil {
			t.Fatal(err)
		}
		if got := want[strings.LastIndex(want, "@")+1:]; def.Image.Digest != got {
			t.Errorf("examples/%s pins %s, but scripts/images built %s from permanent sources: the pin is wrong", example, def.Image.Digest, got)
		}
	}

	built := testenv.Image(t, "debian-c.tar")
	builtDigest := built[strings.LastIndex(built, "@")+1:]
	committed := filepath.Join(testenv.RepoRoot(t), "examples", "c-make", "slsabox.yaml")
	def, err := builder.LoadDefinition(filepath.Dir(committed), "")
	if err != nil {
		t.Fatal(err)
	}
	if def.Image.Digest == builtDigest {
		t.Logf("examples/c-make pins %s, the image built here", builtDigest)
	} else {
		t.Logf("examples/c-make pins %s; Debian's archive here gives %s (it moved since the pin was written); the tests use the image built here", def.Image.Digest, builtDigest)
	}
	dir := t.TempDir()
	src, _ := os.ReadFile(committed)
	copied := filepath.Join(dir, "slsabox.yaml")
	if err := os.WriteFile(copied, src, 0o644); err != nil {
		t.Fatal(err)
	}
	pin := exec.Command(filepath.Join(testenv.RepoRoot(t), "scripts", "images", "pin.sh"), built, copied)
	if out, err := pin.CombinedOutput(); err != nil {
		t.Fatalf("scripts/images/pin.sh: %v\n%s", err, out)
	}
	repinned, err := builder.LoadDefinition(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if repinned.Image.Digest != builtDigest {
		t.Errorf("after scripts/images/pin.sh, examples/c-make pins %s, want %s", repinned.Image.Digest, builtDigest)
	}
}

func TestCLIExitCodes(t *testing.T) {
	testenv.Containerd(t)
	img := testenv.Image(t, "testbox.tar")
	project := func(def string) string {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "slsabox.yaml"), []byte(def), 0o644)
		for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "x"}} {
			exec.Command("git", append([]string{"-C", dir}, args...)...).Run()
		}
		return dir
	}
	ok := project("version: 1\nimage: " + img + "\nsteps: [{name: a, run: [sh, -c, 'echo hi > /out/x']}]\noutputs: [/out/*]\n")
	failing := project("version: 1\nimage: " + img + "\nsteps: [{name: a, run: [sh, -c, 'exit 3']}]\noutputs: [/out/*]\n")
	invalid := project("version: 1\nimage: " + img + "\nstpes: []\n")
	dirty := project("version: 1\nimage: " + img + "\nsteps: [{name: a, run: [sh, -c, 'echo hi > /out/x']}]\noutputs: [/out/*]\n")
	os.WriteFile(filepath.Join(dirty, "new"), []byte("x"), 0o644)

	key := keygen(t)
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"ok", []string{"build", ok, "--unsigned", "-o", filepath.Join(t.TempDir(), "o")}, 0, "step a: ok"},
		{"signed", []string{"build", ok, "--key", key + ".key", "--no-tlog", "-o", filepath.Join(t.TempDir(), "o")}, 0, "signed provenance for 1 subjects"},
		{"no key", []string{"build", ok, "-o", filepath.Join(t.TempDir(), "o")}, 2, "no signing key"},
		{"public key as key", []string{"build", ok, "--key", key + ".pub", "--no-tlog", "-o", filepath.Join(t.TempDir(), "o")}, 2, "signing needs the private key"},
		{"missing key file", []string{"build", ok, "--key", "/nonexistent.key", "--no-tlog", "-o", filepath.Join(t.TempDir(), "o")}, 2, "no such file"},
		{"unsigned with key", []string{"build", ok, "--unsigned", "--key", key + ".key"}, 2, "--unsigned conflicts"},
		{"step fails", []string{"build", failing, "--unsigned", "-o", filepath.Join(t.TempDir(), "o")}, 1, `step "a": exit status 3`},
		{"invalid definition", []string{"build", invalid, "--unsigned", "-o", filepath.Join(t.TempDir(), "o")}, 2, `slsabox.yaml:3: unknown key "stpes"`},
		{"dirty tree", []string{"build", dirty, "--unsigned", "-o", filepath.Join(t.TempDir(), "o")}, 2, "--allow-dirty"},
		{"dirty allowed", []string{"build", dirty, "--unsigned", "--allow-dirty", "-o", filepath.Join(t.TempDir(), "o")}, 0, "uncommitted changes"},
		{"no containerd", []string{"build", ok, "--unsigned", "--containerd-address", "/nonexistent/c.sock", "-o", filepath.Join(t.TempDir(), "o")}, 3, "scripts/containerd.sh start"},
		{"keygen refuses overwrite", []string{"keygen", "--out", key}, 2, "--force"},
		{"relative socket", []string{"sweep", "--containerd-address", "c.sock"}, 3, "absolute"},
		{"bad flag", []string{"build", "--frobnicate"}, 2, "unknown flag"},
		{"bad output format", []string{"version", "--output", "yaml"}, 2, "--output must be text or json"},
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
		{"not an archive", []string{"image", "import", "/etc/hostname"}, 2, "OCI image archive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := slsabox(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s", code, tt.code, stderr)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderr, stderr)
			}
			if tt.code != 0 && !strings.Contains(stderr, "slsabox: hint: ") {
				t.Errorf("error without a hint:\n%s", stderr)
			}
		})
	}
}

func TestCLIImageImport(t *testing.T) {
	testenv.Containerd(t)
	want := testenv.Image(t, "testbox.tar")
	archive := strings.TrimPrefix(want[:strings.LastIndex(want, "@")], "oci-archive:")
	stdout, stderr, code := slsabox(t, "image", "import", archive)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.TrimSpace(stdout) != want {
		t.Errorf("printed %q, want %q", stdout, want)
	}
}

func TestKeygen(t *testing.T) {
	prefix := keygen(t)
	fi, err := os.Stat(prefix + ".key")
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("private key mode %v, want 0600", fi.Mode().Perm())
	}
	before, _ := os.ReadFile(prefix + ".key")
	if _, _, code := slsabox(t, "keygen", "--out", prefix); code != 2 {
		t.Errorf("overwrite without --force exited %d", code)
	}
	if after, _ := os.ReadFile(prefix + ".key"); string(after) != string(before) {
		t.Error("keygen overwrote a key without --force")
	}
	if _, stderr, code := slsabox(t, "keygen", "--out", prefix, "--force", "--algorithm", "ed25519"); code != 0 {
		t.Errorf("--force: exit %d: %s", code, stderr)
	}
	if _, stderr, code := slsabox(t, "keygen", "--out", prefix+"x", "--algorithm", "rsa"); code != 2 || !strings.Contains(stderr, "unknown algorithm") {
		t.Errorf("bad algorithm: exit %d: %s", code, stderr)
	}
}

// TestCLISignalCleansUp sends SIGTERM (and, in a second run, SIGINT) to a real slsabox
// build while its step runs: the step is killed, the build exits 3, and nothing is left
// for slsabox sweep to remove.
func TestCLISignalCleansUp(t *testing.T) {
	testenv.Containerd(t)
	img := testenv.Image(t, "testbox.tar")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "slsabox.yaml"), []byte("version: 1\nimage: "+img+"\nsteps: [{name: long, run: [sleep, '600']}]\noutputs: [/out/*]\n"), 0o644)
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "x"}} {
		exec.Command("git", append([]string{"-C", dir}, args...)...).Run()
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			cmd := exec.Command(slsaboxBin, "build", dir, "--unsigned", "-o", out)
			cmd.Env = append(os.Environ(), "SLSABOX_NAMESPACE=slsabox-test-cli")
			var stderr syncBuffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(60 * time.Second)
			for !strings.Contains(stderr.String(), "step long:") && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			time.Sleep(500 * time.Millisecond) // the container is up
			start := time.Now()
			cmd.Process.Signal(sig)
			err := cmd.Wait()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			if code != 3 || !strings.Contains(stderr.String(), "interrupted") {
				t.Errorf("exit %d, want 3 (interrupted):\n%s", code, stderr.String())
			}
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("the build took %s to stop", d)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("an interrupted build published %s", out)
			}
			stdout, stderr2, code := slsabox(t, "sweep")
			if code != 0 || strings.TrimSpace(stdout) != "removed 0 containers, 0 snapshots, 0 leases, 0 work directories" {
				t.Errorf("leftovers after %s: %s %s", sig, stdout, stderr2)
			}
		})
	}
}

// bundlePayload returns the in-toto statement signed in the DSSE envelope of the
// Sigstore bundle at path.
func bundlePayload(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		DSSE struct {
			Payload string `json:"payload"`
		} `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	payload, err := base64.StdEncoding.DecodeString(b.DSSE.Payload)
	if err != nil {
		t.Fatal(err)
	}
	return payload
}

// provenanceStatement reads the in-toto statement of the signed provenance in out.
func provenanceStatement(t *testing.T, out string) (st struct {
	Predicate struct {
		BuildDefinition struct {
			InternalParameters struct {
				Sandbox struct {
					Runtime       string `json:"runtime"`
					UserNamespace string `json:"userNamespace"`
				} `json:"sandbox"`
			} `json:"internalParameters"`
		} `json:"buildDefinition"`
		RunDetails struct {
			Builder struct {
				BuilderDependencies []struct {
					Name string `json:"name"`
					URI  string `json:"uri"`
				} `json:"builderDependencies"`
			} `json:"builder"`
		} `json:"runDetails"`
	} `json:"predicate"`
}) {
	t.Helper()
	if err := json.Unmarshal(bundlePayload(t, filepath.Join(out, "provenance.sigstore.json")), &st); err != nil {
		t.Fatal(err)
	}
	return st
}
