package actiontest

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slsabox/slsabox/internal/testenv"
)

// TestBuildScriptRejects runs scripts/action/build.sh, the action's build step, the
// way the runner does (inputs as INPUT_*, GITHUB_OUTPUT, RUNNER_TEMP) with inputs it
// must refuse before it starts anything: each gets an error annotation naming the
// input and a hint, exit 2, and no outputs but upload.
func TestBuildScriptRejects(t *testing.T) {
	for _, tool := range []string{"bash", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	const pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----"
	script := filepath.Join(testenv.RepoRoot(t), "scripts", "action", "build.sh")
	for _, tc := range []struct {
		name   string
		inputs map[string]string
		stderr []string
	}{
		{"keyless", map[string]string{"KEYLESS": "true", "SIGNING_KEY": pem},
			[]string{"::error title=slsabox action::keyless signing", "hint: sign with a key: pass signing-key"}},
		{"no key", map[string]string{},
			[]string{"no signing key: set signing-key or kms-key", "secrets.SLSABOX_SIGNING_KEY"}},
		{"two keys", map[string]string{"SIGNING_KEY": pem, "KMS_KEY": "awskms:///alias/release"},
			[]string{"signing-key and kms-key are both set"}},
		{"not a PEM key", map[string]string{"SIGNING_KEY": "ssh-ed25519 AAAA... me@host"},
			[]string{"signing-key is not a PEM private key", "slsabox keygen"}},
		{"a public key", map[string]string{"SIGNING_KEY": strings.ReplaceAll(pem, "PRIVATE", "PUBLIC")},
			[]string{"signing-key is not a PEM private key"}},
		{"bad boolean", map[string]string{"SIGNING_KEY": pem, "NO_TLOG": "maybe"},
			[]string{`input no-tlog must be true or false, not "maybe"`}},
		{"bad upload", map[string]string{"SIGNING_KEY": pem, "UPLOAD": "sometimes"},
			[]string{`input upload must be true or false, not "sometimes"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			output := filepath.Join(dir, "output")
			cmd := exec.Command(script, "/bin/true")
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "RUNNER_TEMP=" + dir, "GITHUB_OUTPUT=" + output}
			for k, v := range tc.inputs {
				cmd.Env = append(cmd.Env, "INPUT_"+k+"="+v)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			if code := exitCode(err); code != 2 {
				t.Fatalf("exit %d (%v), want 2:\n%s", code, err, stderr.String())
			}
			for _, want := range tc.stderr {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
			if strings.Contains(stderr.String(), "MC4CAQAwBQYDK2VwBCIEIA") {
				t.Errorf("the key leaked into the log:\n%s", stderr.String())
			}
			out, _ := os.ReadFile(output)
			for _, name := range []string{"bundle<<", "subjects<<", "log-index<<"} {
				if bytes.Contains(out, []byte(name)) {
					t.Errorf("GITHUB_OUTPUT has %s after a refused input:\n%s", name, out)
				}
			}
			// Nothing is left in RUNNER_TEMP, the key file least of all.
			if left, _ := filepath.Glob(filepath.Join(dir, "slsabox-action.*")); len(left) != 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
}

func exitCode(err error) int {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}
