//go:build integration

package actiontest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slsabox/slsabox/internal/testenv"
)

// The identity the test run claims, as GitHub would set it for a push to main.
const (
	testRepo        = "slsabox/slsabox"
	testWorkflowRef = testRepo + "/.github/workflows/action-test.yml@refs/heads/main"
	wantBuilderID   = "https://github.com/" + testWorkflowRef
	wantSourceURI   = "git+https://github.com/" + testRepo
)

// The two remote actions the workflows use, pinned as in action.yml and the workflow;
// act runs local stand-ins for them (testdata/stubs), since it cannot fetch them.
var stubs = map[string]string{
	"actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1":        "checkout",
	"actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f": "upload-artifact",
}

// TestActionWithAct runs the action for real: nektos/act, in host mode, runs
// testdata/action-test.yml on this machine. The workflow checks out a copy of this
// repository, has the action refuse keyless signing without an ID token, then builds examples/hello-go
// with `uses: ./` (slsabox built from the action's source, a private containerd of the
// action's own, the suite's Rekor). The test then checks the outputs, the uploaded
// artifact, the step summary and the provenance, and verifies the bundle with
// slsabox verify as a consumer would, and with cosign. Last, a small project is built with the log
// down: the step fails, but its signed bundle is output, summarized and uploaded, and
// slsabox upload logs it afterwards.
func TestActionWithAct(t *testing.T) {
	testenv.Tool(t, "act")
	rekorURL, trustedRoot := testenv.Rekor(t)
	testenv.Image(t, "go-toolchain.tar") // the image examples/hello-go pins
	root := testenv.RepoRoot(t)
	tmp, results, repo, commit := actWorkspace(t)

	slsabox, key, pem := slsaboxAndKey(t, tmp)

	// The action's private containerd lives beside the suite's, never in it.
	runDir := envOr("SLSABOX_RUN", "/run/slsabox-test") + "-action"
	stateDir := envOr("SLSABOX_ROOT", "/var/lib/slsabox-test") + "-action"
	containerdEnv := append(os.Environ(), "SLSABOX_RUN="+runDir, "SLSABOX_ROOT="+stateDir)
	t.Cleanup(func() { // only matters if act was killed mid-step
		cmd := exec.Command(filepath.Join(root, "scripts", "containerd.sh"), "stop")
		cmd.Env = containerdEnv
		_ = cmd.Run()
	})

	env := []string{
		"TEST_RESULTS=" + results,
		"TEST_REKOR_URL=" + rekorURL,
		"TEST_REKOR_VERSION=" + envOr("SLSABOX_REKOR_VERSION", "2"),
		"TEST_IMAGES=" + testenv.ImagesDir(t),
		"TEST_TESTBOX=" + testenv.Image(t, "testbox.tar"),
		"TEST_DEAD_REKOR_URL=" + deadURL(t),
		"TEST_REGISTRY=" + testenv.RegistryOCI(t),
		"SLSABOX_RUN=" + runDir,
		"SLSABOX_ROOT=" + stateDir,
		// act sets no GITHUB_WORKFLOW_REF; GitHub always does.
		"GITHUB_WORKFLOW_REF=" + testWorkflowRef,
	}
	start := time.Now()
	log, err := runAct(t, "action-test.yml", repo, tmp, env, map[string]string{"SLSABOX_SIGNING_KEY": string(pem)})
	t.Logf("act ran the workflow in %s", time.Since(start).Round(time.Second))
	if err != nil {
		t.Fatalf("act: %v\n%s", err, tail(log, 80))
	}
	entries := actLog(t, []byte(log))

	// The action stopped the containerd it started.
	status := exec.Command(filepath.Join(root, "scripts", "containerd.sh"), "status")
	status.Env = containerdEnv
	if out, err := status.CombinedOutput(); err == nil {
		t.Errorf("the action left its containerd running: %s", out)
	}

	var outputs struct {
		Keyless, Bundle, Subjects, LogIndex, LogURL, OutputDir string
		Outage, OutageBundle, OutageLogIndex                   string
		Images, Pushed, SBOMBundle                             string
	}
	data, err := os.ReadFile(filepath.Join(results, "outputs.json"))
	if err != nil {
		t.Fatalf("the workflow wrote no outputs: %v\n%s", err, tail(log, 80))
	}
	if err := json.Unmarshal(data, &outputs); err != nil {
		t.Fatal(err)
	}
	t.Logf("outputs: %s", data)

	// Keyless signing in a job without id-token: write is refused with an error that
	// names the fix (TestKeylessActionWithAct signs keyless for real).
	if outputs.Keyless != "failure" {
		t.Errorf("the keyless step ended in %q, want failure", outputs.Keyless)
	}
	if !strings.Contains(log, "keyless is true, but the job cannot request an OIDC token") ||
		!strings.Contains(log, "add `permissions: id-token: write` to the job") {
		t.Errorf("the keyless step's error does not say what is missing and what to do:\n%s", tail(log, 80))
	}

	// Outputs: the bundle, the subjects as JSON with their digests, the log entry.
	out := filepath.Join(results, "out")
	if outputs.OutputDir != out || outputs.Bundle != filepath.Join(out, "provenance.sigstore.json") || outputs.SBOMBundle != filepath.Join(out, "sbom.sigstore.json") {
		t.Errorf("output-dir %q, bundle %q and sbom-bundle %q, want %s and its provenance.sigstore.json and sbom.sigstore.json", outputs.OutputDir, outputs.Bundle, outputs.SBOMBundle, out)
	}
	var subjects []struct {
		Name, Path string
		Digest     struct{ SHA256 string }
		Size       int64
	}
	if err := json.Unmarshal([]byte(outputs.Subjects), &subjects); err != nil {
		t.Fatalf("subjects output is not JSON: %v: %q", err, outputs.Subjects)
	}
	if len(subjects) != 1 || subjects[0].Name != "hello" || subjects[0].Path != filepath.Join(out, "hello") {
		t.Fatalf("subjects = %+v, want hello in %s", subjects, out)
	}
	hello, err := os.ReadFile(subjects[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(hello)
	if got := hex.EncodeToString(sum[:]); got != subjects[0].Digest.SHA256 || int64(len(hello)) != subjects[0].Size {
		t.Errorf("subject hello: output says sha256 %s size %d, the file has %s size %d", subjects[0].Digest.SHA256, subjects[0].Size, got, len(hello))
	}
	logIndex, err := strconv.ParseInt(outputs.LogIndex, 10, 64)
	if err != nil || logIndex < 0 {
		t.Fatalf("log-index output %q is not an index", outputs.LogIndex)
	}
	if outputs.LogURL != rekorURL {
		t.Errorf("log-url %q, want %q", outputs.LogURL, rekorURL)
	}
	statement, bundleIndex := readBundle(t, outputs.Bundle)
	if bundleIndex != logIndex {
		t.Errorf("log-index output %d, the bundle's entry %d", logIndex, bundleIndex)
	}

	// The provenance carries the workflow identity.
	if got := statement.Predicate.RunDetails.Builder.ID; got != wantBuilderID {
		t.Errorf("builder.id %q, want the workflow identity %q", got, wantBuilderID)
	}
	if got := statement.Predicate.RunDetails.Metadata.InvocationID; !regexp.MustCompile(`^https://github\.com/` + testRepo + `/actions/runs/\d+/attempts/1$`).MatchString(got) {
		t.Errorf("invocationId %q is not the run URL", got)
	}

	// Where the time goes: the action's steps against the build slsabox recorded.
	total, install, build := stepTime(entries, "build"), stepTime(entries, "build", "install"), stepTime(entries, "build", "build")
	sandbox := statement.Predicate.RunDetails.Metadata.FinishedOn.Sub(statement.Predicate.RunDetails.Metadata.StartedOn)
	if total == 0 || install == 0 || build == 0 || sandbox <= 0 {
		t.Errorf("act's log lacks step times (action %s, install %s, build %s) or the provenance its build time (%s)", total, install, build, sandbox)
	}
	t.Logf("first install of slsabox in this run (go build, cold for this path): %s", stepTime(entries, "keyless", "install").Round(time.Millisecond))
	t.Logf("action step %s: install %s, build step %s (the build slsabox recorded %s, the rest: containerd start and stop, signing, logging, summary %s), upload and the rest %s",
		total.Round(time.Millisecond), install.Round(time.Millisecond), build.Round(time.Millisecond), sandbox.Round(time.Millisecond),
		(build - sandbox).Round(time.Millisecond), (total - install - build).Round(time.Millisecond))

	// The uploaded artifact holds the same files.
	for _, f := range []string{"hello", "provenance.sigstore.json", "build.log"} {
		a, err1 := os.ReadFile(filepath.Join(results, "artifacts", "hello-go", f))
		b, err2 := os.ReadFile(filepath.Join(out, f))
		if err := errors.Join(err1, err2); err != nil || !bytes.Equal(a, b) {
			t.Errorf("uploaded artifact hello-go/%s differs from the output (%v)", f, err)
		}
	}

	// The step summary: a table of subjects and digests, and the log entry.
	summary := ""
	for _, e := range entries {
		if e.Command == "summary" && strings.Contains(e.Content, "| `hello` |") {
			summary = e.Content
		}
	}
	for _, want := range []string{
		"| subject | sha256 | size (bytes) |",
		"| `hello` | `" + subjects[0].Digest.SHA256 + "` | " + strconv.Itoa(len(hello)) + " |",
		"| log entry | index **" + outputs.LogIndex + "** in `" + rekorURL + "` |",
		"| builder.id | `" + wantBuilderID + "` |",
		"| source | `" + commit + "` |",
	} {
		if !strings.Contains(summary, want) {
			t.Errorf("the step summary has no line %q:\n%s", want, summary)
		}
	}

	// A consumer's check, offline: signature, log proof, subject, builder and source.
	verify := func(builderID string, extra ...string) (string, error) {
		out, err := exec.Command(slsabox, append([]string{"verify", subjects[0].Path, "--bundle", outputs.Bundle,
			"--key", key + ".pub", "--trusted-root", trustedRoot, "--builder-id", builderID,
			"--source-uri", wantSourceURI, "--source-ref", "refs/heads/main", "--source-commit", commit,
			"--require-hermetic"}, extra...)...).CombinedOutput()
		return string(out), err
	}
	if out, err := verify(wantBuilderID, "--sbom", outputs.SBOMBundle, "--require-sbom"); err != nil || !strings.Contains(out, "VERIFIED SBOM") {
		t.Errorf("slsabox verify --sbom: %v\n%s", err, out)
	}
	// And cosign, an independent verifier: signature, log proof (with the log's
	// trusted root) and subject.
	if out, err := exec.Command(testenv.Tool(t, "cosign"), "verify-blob-attestation", "--key", key+".pub",
		"--bundle", outputs.Bundle, "--trusted-root", trustedRoot, "--type", "slsaprovenance1",
		subjects[0].Path).CombinedOutput(); err != nil || !strings.Contains(string(out), "Verified OK") {
		t.Errorf("cosign verify-blob-attestation: %v\n%s", err, out)
	}
	other := "https://github.com/" + testRepo + "/.github/workflows/other.yml@refs/heads/main"
	if out, err := verify(other); exitCode(err) != 1 {
		t.Errorf("slsabox verify with another workflow's builder id: %v, want exit 1\n%s", err, out)
	}

	// The image: pushed by digest with its provenance as a referrer, named in the
	// images output, and verified from the registry as a consumer would.
	var images []string
	if err := json.Unmarshal([]byte(outputs.Images), &images); err != nil || len(images) != 1 || outputs.Pushed != "true" ||
		!strings.HasPrefix(images[0], testenv.RegistryOCI(t)+"/slsabox/hello@sha256:") {
		t.Errorf("images output %q (pushed %q), want one image pushed to %s", outputs.Images, outputs.Pushed, testenv.RegistryOCI(t))
	} else if out, err := exec.Command(slsabox, "verify", "oci://"+images[0], "--key", key+".pub", "--trusted-root", trustedRoot,
		"--builder-id", wantBuilderID, "--source-uri", wantSourceURI, "--source-commit", commit, "--require-hermetic").CombinedOutput(); err != nil {
		t.Errorf("slsabox verify oci://%s: %v\n%s", images[0], err, out)
	}

	// The log was down: the step failed, but the signed bundle was written, handed on
	// (output, summary, artifact), and slsabox upload logs it later.
	if outputs.Outage != "failure" || outputs.OutageLogIndex != "" {
		t.Errorf("outage step: outcome %q, log-index %q; want failure and none", outputs.Outage, outputs.OutageLogIndex)
	}
	notLogged := false
	for _, e := range entries {
		notLogged = notLogged || (e.Command == "summary" && strings.Contains(e.Content, "| log entry | **none: not logged**"))
	}
	if !notLogged {
		t.Errorf("no step summary says the outage build is not logged")
	}
	uploaded := filepath.Join(results, "artifacts", "outage", "provenance.sigstore.json")
	if a, err := os.ReadFile(uploaded); err != nil || outputs.OutageBundle == "" {
		t.Fatalf("the unlogged bundle was not uploaded (%v) or not output (%q)", err, outputs.OutageBundle)
	} else if b, err := os.ReadFile(outputs.OutageBundle); err != nil || !bytes.Equal(a, b) {
		t.Errorf("the uploaded unlogged bundle differs from %s (%v)", outputs.OutageBundle, err)
	}
	if out, err := exec.Command(slsabox, "upload", "--bundle", uploaded, "--key", key+".key",
		"--rekor-url", rekorURL, "--rekor-version", envOr("SLSABOX_REKOR_VERSION", "2")).CombinedOutput(); err != nil {
		t.Fatalf("slsabox upload of the unlogged bundle: %v\n%s", err, out)
	}
	if out, err := exec.Command(slsabox, "verify", filepath.Join(results, "artifacts", "outage", "hi"), "--bundle", uploaded,
		"--key", key+".pub", "--trusted-root", trustedRoot, "--builder-id", wantBuilderID,
		"--allow-any-source-unsafe").CombinedOutput(); err != nil {
		t.Errorf("slsabox verify after upload: %v\n%s", err, out)
	}
}

// runAct runs testdata/WORKFLOW with act in host mode (-P ubuntu-latest=-self-hosted)
// in the repository dir, as a push: the remote actions are the local stubs, env is
// passed with --env (act sets no GITHUB_WORKFLOW_REF, no token-request variables), and
// secrets reach the workflow as secrets. It returns act's --json log.
func runAct(t *testing.T, workflow, dir, tmp string, env []string, secrets map[string]string) (string, error) {
	t.Helper()
	act := testenv.Tool(t, "act")
	root := testenv.RepoRoot(t)
	args := []string{"push", "--json",
		"-W", filepath.Join(root, "internal", "actiontest", "testdata", workflow),
		"-P", "ubuntu-latest=-self-hosted",
		"--no-cache-server", "--action-cache-path", filepath.Join(tmp, "act-cache"),
	}
	for ref, stub := range stubs {
		args = append(args, "--local-repository", ref+"="+filepath.Join(root, "internal", "actiontest", "testdata", "stubs", stub))
	}
	env = append(env, "GOFLAGS="+os.Getenv("GOFLAGS"), "GOTOOLCHAIN="+envOr("GOTOOLCHAIN", "local"))
	for _, kv := range env {
		args = append(args, "--env", kv)
	}
	cmdEnv := append(os.Environ(), "XDG_CACHE_HOME="+filepath.Join(tmp, "xdg-cache"), "XDG_CONFIG_HOME="+filepath.Join(tmp, "xdg-config"))
	for name, value := range secrets {
		args = append(args, "-s", name) // the value from act's environment, never on its command line
		cmdEnv = append(cmdEnv, name+"="+value)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, act, args...)
	cmd.Dir = dir
	cmd.Env = cmdEnv
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	err := cmd.Run()
	return log.String(), err
}

// actWorkspace skips the test unless it runs as root (the action runs containerd and
// the sandbox as root, or through sudo), and makes an act test's directories: tmp,
// results in it (the workflows' TEST_RESULTS) and repo, a snapshot of this repository
// (snapshotRepo) whose commit it returns.
func actWorkspace(t *testing.T) (tmp, results, repo, commit string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the action runs containerd and the sandbox as root (or through sudo); run as root")
	}
	tmp = t.TempDir()
	results = filepath.Join(tmp, "results")
	if err := os.MkdirAll(results, 0o755); err != nil {
		t.Fatal(err)
	}
	repo = filepath.Join(tmp, "repo")
	return tmp, results, repo, snapshotRepo(t, testenv.RepoRoot(t), repo)
}

// deadURL returns a loopback URL on which nothing listens.
func deadURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// snapshotRepo copies the work tree of root (tracked and untracked files that git
// does not ignore, as they are now) into dst and commits it there, on main, with
// GitHub's remote: what actions/checkout would leave, for this very code.
// slsaboxAndKey builds slsabox into dir and makes a signing key pair there with it:
// the binary, the key pair's path without extension, and the private key's PEM.
func slsaboxAndKey(t *testing.T, dir string) (bin, key string, pem []byte) {
	t.Helper()
	bin = filepath.Join(dir, "slsabox")
	build := exec.Command("go", "build", "-o", bin, "github.com/slsabox/slsabox/cmd/slsabox")
	build.Env = append(os.Environ(), "CGO_ENABLED=0") // static, as released
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	key = filepath.Join(dir, "release")
	if out, err := exec.Command(bin, "keygen", "--out", key).CombinedOutput(); err != nil {
		t.Fatalf("slsabox keygen: %v\n%s", err, out)
	}
	pem, err := os.ReadFile(key + ".key")
	if err != nil {
		t.Fatal(err)
	}
	return bin, key, pem
}

func snapshotRepo(t *testing.T, root, dst string) string {
	t.Helper()
	list, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for _, name := range strings.Split(strings.TrimRight(string(list), "\x00"), "\x00") {
		src := filepath.Join(root, name)
		fi, err := os.Lstat(src)
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted in the work tree
		} else if err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(dst, name)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			t.Fatal(err)
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(src)
			if err == nil {
				err = os.Symlink(link, target)
			}
			if err != nil {
				t.Fatal(err)
			}
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(src)
			if err == nil {
				err = os.WriteFile(target, data, fi.Mode().Perm())
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"add", "-A"},
		{"-c", "user.name=slsabox test", "-c", "user.email=test@slsabox.invalid", "commit", "-q", "-m", "snapshot for the action test"},
		{"remote", "add", "origin", "https://github.com/" + testRepo + ".git"},
	} {
		if out, err := exec.Command("git", append([]string{"-C", dst}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	head, err := exec.Command("git", "-C", dst, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(head))
}

type actEntry struct {
	Msg     string   `json:"msg"`
	Command string   `json:"command"`
	Content string   `json:"content"`
	StepID  []string `json:"stepID"`
	Stage   string   `json:"stage"`
	// ExecutionTime is set on a step's last line: logrus writes the Duration as ns.
	ExecutionTime time.Duration `json:"executionTime"`
}

// stepTime returns how long the step with this ID path ran (its Main stage).
func stepTime(entries []actEntry, id ...string) time.Duration {
	for _, e := range entries {
		if e.ExecutionTime > 0 && e.Stage == "Main" && strings.Join(e.StepID, "/") == strings.Join(id, "/") {
			return e.ExecutionTime
		}
	}
	return 0
}

// actLog parses act's --json log, one object a line (other lines are skipped).
func actLog(t *testing.T, log []byte) []actEntry {
	t.Helper()
	var entries []actEntry
	for _, line := range bytes.Split(log, []byte("\n")) {
		var e actEntry
		if json.Unmarshal(line, &e) == nil {
			entries = append(entries, e)
		}
	}
	if len(entries) == 0 {
		t.Fatalf("act wrote no JSON log:\n%s", tail(string(log), 40))
	}
	return entries
}

type provenance struct {
	Predicate struct {
		BuildDefinition struct {
			InternalParameters struct {
				Sandbox struct {
					Runtime string `json:"runtime"`
				} `json:"sandbox"`
			} `json:"internalParameters"`
		} `json:"buildDefinition"`
		RunDetails struct {
			Builder struct {
				ID                  string `json:"id"`
				BuilderDependencies []struct {
					Name string `json:"name"`
					URI  string `json:"uri"`
				} `json:"builderDependencies"`
			} `json:"builder"`
			Metadata struct {
				InvocationID string    `json:"invocationId"`
				StartedOn    time.Time `json:"startedOn"`
				FinishedOn   time.Time `json:"finishedOn"`
			} `json:"metadata"`
		} `json:"runDetails"`
	} `json:"predicate"`
}

// readBundle returns the statement in a bundle and its log entry's index.
func readBundle(t *testing.T, path string) (provenance, int64) {
	t.Helper()
	var b struct {
		DSSEEnvelope struct {
			Payload string `json:"payload"`
		} `json:"dsseEnvelope"`
		VerificationMaterial struct {
			TlogEntries []struct {
				LogIndex string `json:"logIndex"`
			} `json:"tlogEntries"`
		} `json:"verificationMaterial"`
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	payload, err := base64.StdEncoding.DecodeString(b.DSSEEnvelope.Payload)
	if err != nil {
		t.Fatal(err)
	}
	var st provenance
	if err := json.Unmarshal(payload, &st); err != nil {
		t.Fatal(err)
	}
	if len(b.VerificationMaterial.TlogEntries) != 1 {
		t.Fatalf("the bundle has %d log entries, want 1", len(b.VerificationMaterial.TlogEntries))
	}
	// protojson leaves out a zero index.
	idx := int64(0)
	if s := b.VerificationMaterial.TlogEntries[0].LogIndex; s != "" {
		if idx, err = strconv.ParseInt(s, 10, 64); err != nil {
			t.Fatal(err)
		}
	}
	return st, idx
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
