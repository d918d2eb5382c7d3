package actiontest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slsabox/slsabox/internal/testenv"
)

// releaseArchive is a .tar.gz holding the files name, content, name, content, ...
func releaseArchive(t *testing.T, files ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for i := 0; i+1 < len(files); i += 2 {
		name, content := files[i], files[i+1]
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestInstallRelease runs scripts/action/install.sh, as the action's first step does,
// against a release server on loopback: the download is checked against the pinned
// sha256 before anything in it runs.
func TestInstallRelease(t *testing.T) {
	testenv.Programs(t, "bash", "curl", "sha256sum", "tar")
	const (
		version = "v9.9.9"
		file    = "slsabox_" + version + "_linux_amd64.tar.gz"
		// Stands in for the release binary: the script runs "slsabox version".
		binary = "#!/bin/sh\necho slsabox " + version + "\n"
	)
	const plugin = "#!/bin/sh\necho plugin\n"
	good := releaseArchive(t, "slsabox", binary)
	withPlugin := releaseArchive(t, "slsabox", binary, "sigstore-kms-awskms", plugin)
	served := map[string][]byte{
		"/" + version + "/" + file:                  good,
		"/v0.0.1/slsabox_v0.0.1_linux_amd64.tar.gz": releaseArchive(t, "README", "no binary here"),
		"/v0.0.2/slsabox_v0.0.2_linux_amd64.tar.gz": withPlugin,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b, ok := served[r.URL.Path]; ok {
			_, _ = w.Write(b)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	script := filepath.Join(testenv.RepoRoot(t), "scripts", "action", "install.sh")

	for _, tc := range []struct {
		name, mode, pins, kms string
		code                  int
		stderr                string
	}{
		{name: "the KMS plugin kms-key needs", mode: "release", pins: sha256Hex(withPlugin) + "  slsabox_v0.0.2_linux_amd64.tar.gz", kms: "awskms:///alias/release", stderr: "(pinned)"},
		{name: "a release without the KMS plugin", mode: "release", pins: sha256Hex(good) + "  " + file, kms: "awskms:///alias/release", code: 1, stderr: "holds no sigstore-kms-awskms"},
		{name: "not a KMS URI", mode: "release", pins: sha256Hex(good) + "  " + file, kms: "/keys/release.pem", code: 2, stderr: "kms-key must be a KMS URI"},
		{name: "release", mode: "release", pins: sha256Hex(good) + "  " + file, stderr: "archive sha256 " + sha256Hex(good) + " (pinned)"},
		{name: "auto picks the pinned release outside the workspace", mode: "auto", pins: sha256Hex(good) + "  " + file, stderr: "downloading slsabox " + version},
		{name: "other platforms pinned too", mode: "release", pins: strings.Repeat("a", 64) + "  slsabox_" + version + "_linux_arm64.tar.gz\n" + sha256Hex(good) + "  " + file, stderr: "(pinned)"},
		{name: "changed download", mode: "release", pins: strings.Repeat("0", 64) + "  " + file, code: 1, stderr: "refusing to run it"},
		{name: "nothing pinned", mode: "release", pins: "# none yet", code: 2, stderr: "pins no release for linux_amd64"},
		{name: "two pins", mode: "release", pins: sha256Hex(good) + "  " + file + "\n" + sha256Hex(good) + "  slsabox_v1.0.0_linux_amd64.tar.gz", code: 2, stderr: "more than one release"},
		{name: "missing on the server", mode: "release", pins: sha256Hex(good) + "  slsabox_v1.2.3_linux_amd64.tar.gz", code: 3, stderr: "could not download " + srv.URL + "/v1.2.3/"},
		{name: "archive without a binary", mode: "release", pins: sha256Hex(served["/v0.0.1/slsabox_v0.0.1_linux_amd64.tar.gz"]) + "  slsabox_v0.0.1_linux_amd64.tar.gz", code: 1, stderr: "holds no slsabox binary"},
		{name: "bad mode", mode: "latest", pins: "", code: 2, stderr: `input install must be auto, source or release, not "latest"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			pins := filepath.Join(dir, "release.sha256")
			if err := os.WriteFile(pins, []byte(tc.pins+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			dest := filepath.Join(dir, "bin")
			cmd := exec.Command(script, dest)
			cmd.Env = append(os.Environ(), "INPUT_INSTALL="+tc.mode, "SLSABOX_RELEASE_BASE_URL="+srv.URL,
				"SLSABOX_RELEASE_CHECKSUMS="+pins, "RUNNER_ARCH=X64", "RUNNER_TEMP="+dir,
				"GITHUB_WORKSPACE="+t.TempDir(), // the action is not inside this workspace
				"INPUT_KMS_KEY="+tc.kms)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code || !strings.Contains(stderr.String(), tc.stderr) {
				t.Fatalf("exit %d, want %d; stderr should hold %q:\n%s", code, tc.code, tc.stderr, stderr.String())
			}
			bin := filepath.Join(dest, "slsabox")
			if tc.code != 0 {
				if _, err := os.Stat(bin); err == nil {
					t.Errorf("%s was installed although the install failed", bin)
				}
				return
			}
			if got := strings.TrimSpace(stdout.String()); got != bin {
				t.Errorf("printed %q, want %q", got, bin)
			}
			if got, err := os.ReadFile(bin); err != nil || string(got) != binary {
				t.Errorf("installed binary: %q, %v", got, err)
			}
			got, err := os.ReadFile(filepath.Join(dest, "sigstore-kms-awskms"))
			if tc.kms != "" && (err != nil || string(got) != plugin) {
				t.Errorf("KMS plugin: %q, %v", got, err)
			}
			if tc.kms == "" && err == nil {
				t.Errorf("a KMS plugin was installed without kms-key")
			}
			if !strings.Contains(stderr.String(), "slsabox "+version) {
				t.Errorf("the script did not run the installed binary's version:\n%s", stderr.String())
			}
			// The temporary download is gone.
			if left, _ := filepath.Glob(filepath.Join(dir, "slsabox-release.*")); len(left) != 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
}
