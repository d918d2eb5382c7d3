// Package testenv finds the real services the integration tests run against: the
// private containerd and the locally built images that scripts/test.sh provides; and
// Leftovers checks what builds left in them.
//
// Outside CI a missing service skips the test with the command that provides it; in
// CI (CI=true) it fails the test, so a broken set-up never passes as "no tests ran".
package testenv

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// RepoRoot returns the repository's top directory.
func RepoRoot(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	skipOrFail(t, fmt.Sprintf(format, args...)+" (run the suite with scripts/test.sh, which starts it)")
}

// skipOrFail skips the test, or fails it in CI (CI set).
func skipOrFail(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Python3 returns the path of python3 on $PATH, for tests that read our output
// with Python's standard library as a second, independent implementation.
func Python3(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("python3")
	if err != nil {
		skipOrFail(t, "python3 is not on PATH: install it (apt-get install -y python3)")
	}
	return p
}

// Containerd returns the socket of the containerd to test against (SLSABOX_CONTAINERD).
func Containerd(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("SLSABOX_CONTAINERD")
	if addr == "" {
		missing(t, "SLSABOX_CONTAINERD is not set")
	}
	if _, err := os.Stat(addr); err != nil {
		missing(t, "containerd socket %s: %v", addr, err)
	}
	return addr
}

// Registry returns the HOST:PORT of the local OCI registry to push test images to
// (SLSABOX_REGISTRY; scripts/test.sh starts it with scripts/registry.sh), after
// checking that it answers GET /v2/ over plain HTTP. It is Debian's docker-registry
// 2.8: no referrers API, so referrers go in the tag schema.
func Registry(t testing.TB) string {
	t.Helper()
	return registry(t, "SLSABOX_REGISTRY")
}

// RegistryOCI returns the HOST:PORT of the local registry that serves the OCI 1.1
// referrers API (SLSABOX_REGISTRY_OCI; scripts/registry.sh oci start), after
// checking that it answers GET /v2/ over plain HTTP.
func RegistryOCI(t testing.TB) string {
	t.Helper()
	return registry(t, "SLSABOX_REGISTRY_OCI")
}

func registry(t testing.TB, env string) string {
	t.Helper()
	addr := os.Getenv(env)
	if addr == "" {
		missing(t, "%s is not set", env)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + addr + "/v2/")
	if err != nil {
		missing(t, "registry %s: %v", addr, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		missing(t, "registry %s: GET /v2/ answered %s", addr, resp.Status)
	}
	return addr
}

// ImagesDir returns the directory holding the test images (SLSABOX_TEST_IMAGES,
// default .cache/images in the repository).
func ImagesDir(t testing.TB) string {
	if d := os.Getenv("SLSABOX_TEST_IMAGES"); d != "" {
		return d
	}
	return filepath.Join(RepoRoot(t), ".cache", "images")
}

// Image returns "oci-archive:PATH@sha256:..." for the archive name (e.g. "testbox.tar")
// in ImagesDir, reading the digest from the archive's index.json.
func Image(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(ImagesDir(t), name)
	if _, err := os.Stat(p); err != nil {
		missing(t, "test image %s: %v", p, err)
	}
	d, err := ManifestDigest(p)
	if err != nil {
		t.Fatal(err)
	}
	return "oci-archive:" + p + "@" + d
}

// ManifestDigest returns the digest of the first manifest in an OCI archive's index.json.
func ManifestDigest(archive string) (string, error) {
	f, err := os.Open(archive)
	if err != nil {
		return "", err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return "", fmt.Errorf("%s has no index.json", archive)
		}
		if err != nil {
			return "", fmt.Errorf("reading %s: %w", archive, err)
		}
		if filepath.Clean(h.Name) != "index.json" {
			continue
		}
		var idx struct {
			Manifests []struct {
				Digest string `json:"digest"`
			} `json:"manifests"`
		}
		if err := json.NewDecoder(tr).Decode(&idx); err != nil {
			return "", fmt.Errorf("%s: index.json: %w", archive, err)
		}
		if len(idx.Manifests) == 0 {
			return "", fmt.Errorf("%s: index.json lists no manifest", archive)
		}
		return idx.Manifests[0].Digest, nil
	}
}

// Programs checks that each program is on $PATH (bash, jq, curl: on every fresh
// machine of this project's kind); a missing one skips the test, or fails it in CI.
func Programs(t testing.TB, names ...string) {
	t.Helper()
	for _, name := range names {
		if _, err := exec.LookPath(name); err != nil {
			skipOrFail(t, name+" is not installed")
		}
	}
}

// Tool returns the path of a peer tool that scripts/tools.sh installs (cosign), from
// $PATH or $(go env GOPATH)/bin.
func Tool(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = strings.TrimSpace(string(out))
		}
	}
	p := filepath.Join(gopath, "bin", name)
	if _, err := os.Stat(p); err != nil {
		missing(t, "peer tool %s is not installed (scripts/tools.sh installs it)", name)
	}
	return p
}

// Rekor returns the URL of the local Rekor v2 log and the path of its trusted_root.json
// (SLSABOX_REKOR_URL, SLSABOX_TRUSTED_ROOT; scripts/test.sh starts it with scripts/rekor.sh).
func Rekor(t testing.TB) (url, trustedRoot string) {
	t.Helper()
	url, trustedRoot = os.Getenv("SLSABOX_REKOR_URL"), os.Getenv("SLSABOX_TRUSTED_ROOT")
	if url == "" || trustedRoot == "" {
		missing(t, "SLSABOX_REKOR_URL and SLSABOX_TRUSTED_ROOT are not set")
	}
	if _, err := os.Stat(trustedRoot); err != nil {
		missing(t, "trusted root: %v", err)
	}
	return url, trustedRoot
}

// RekorScript returns scripts/rekor.sh when the tests may stop and start the log
// (SLSABOX_TEST_RESTART, set by scripts/test.sh), for the outage tests.
func RekorScript(t testing.TB) string {
	t.Helper()
	if os.Getenv("SLSABOX_TEST_RESTART") == "" {
		missing(t, "SLSABOX_TEST_RESTART is not set: the outage tests stop and start the local log")
	}
	if s := os.Getenv("SLSABOX_REKOR_SCRIPT"); s != "" {
		return s
	}
	return filepath.Join(RepoRoot(t), "scripts", "rekor.sh")
}

// Runtime is the runtime the sandbox tests run steps with: SLSABOX_RUNTIME (which
// slsabox build reads too), "runc" (the default) or "gvisor". scripts/test.sh runs
// the sandbox and hostile suites a second time under gVisor, against the containerd
// of scripts/gvisor.sh.
func Runtime() string {
	if r := os.Getenv("SLSABOX_RUNTIME"); r != "" {
		return r
	}
	return "runc"
}

// GVisor says whether the tests run steps under gVisor (Runtime).
func GVisor() bool { return Runtime() == "gvisor" }

// GVisorContainerd returns the socket of a containerd that runs gVisor steps
// (SLSABOX_GVISOR_CONTAINERD; scripts/gvisor.sh start runs one and scripts/test.sh
// sets it), after checking that slsabox finds a runsc (SLSABOX_RUNSC, else PATH).
func GVisorContainerd(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("SLSABOX_GVISOR_CONTAINERD")
	if addr == "" {
		missing(t, "SLSABOX_GVISOR_CONTAINERD is not set: eval \"$(scripts/gvisor.sh env)\" after scripts/gvisor.sh start")
	}
	if _, err := os.Stat(addr); err != nil {
		missing(t, "gVisor containerd socket %s: %v", addr, err)
	}
	if _, err := exec.LookPath("runsc"); err != nil && os.Getenv("SLSABOX_RUNSC") == "" {
		missing(t, "SLSABOX_RUNSC is not set and runsc is not on PATH: eval \"$(scripts/gvisor.sh env)\" sets it")
	}
	return addr
}
