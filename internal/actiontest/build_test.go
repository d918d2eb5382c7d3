package actiontest

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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

// TestBuildScriptHandsBack checks how build.sh turns slsabox's JSON result into step
// outputs and the summary table, for a logged and an unlogged (log outage) build. A
// shell script stands in for slsabox here, printing results of the shape
// `slsabox build --output json` prints; TestActionWithAct runs the real one.
func TestBuildScriptHandsBack(t *testing.T) {
	for _, tool := range []string{"bash", "jq", "base64"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	const pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----"
	script := filepath.Join(testenv.RepoRoot(t), "scripts", "action", "build.sh")
	for _, tc := range []struct {
		name     string
		logged   bool
		exit     int
		logIndex string
		logRow   string
	}{
		{"logged", true, 0, "42", "| log entry | index **42** in `http://rekor.test` |"},
		{"log outage", false, 3, "", "| log entry | **none: not logged**; when the log is back: `slsabox upload --bundle "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out")
			fake := filepath.Join(dir, "slsabox")
			logged, logURL := "false", ""
			if tc.logged {
				logged, logURL = "true", "http://rekor.test"
			}
			// A subject name with | and ` must not break the Markdown table.
			result := `{"buildId":"b1","outDir":"` + out + `","source":{"commit":"c0ffee","dirty":false},` +
				`"image":{"manifestDigest":"sha256:1234"},"subjects":[{"name":"bin/he|l` + "`" + `lo","sha256":"ab12","size":7}],` +
				`"provenance":{"bundle":"` + out + `/provenance.sigstore.json","logged":` + logged + `,"logUrl":"` + logURL + `","logIndex":42}}`
			fakeScript := "#!/bin/sh\nset -e\necho \"$*\" >" + filepath.Join(dir, "args") + "\n" +
				"printf '%s|%s|%s' \"$SLSABOX_KEY_PASSWORD\" \"${INPUT_SIGNING_KEY:-}\" \"$(cat \"$8\")\" >" + filepath.Join(dir, "env") + "\n" +
				"mkdir -p " + out + "\n" +
				"p=$(printf '{\"predicate\":{\"runDetails\":{\"builder\":{\"id\":\"https://github.com/o/r/.github/workflows/w.yml@refs/tags/v1\"}}}}' | base64 -w0)\n" +
				"printf '{\"dsseEnvelope\":{\"payload\":\"%s\"}}' \"$p\" >" + out + "/provenance.sigstore.json\n" +
				"cat <<'JSON'\n" + result + "\nJSON\nexit " + strconv.Itoa(tc.exit) + "\n"
			if err := os.WriteFile(fake, []byte(fakeScript), 0o755); err != nil {
				t.Fatal(err)
			}
			output, summary := filepath.Join(dir, "output"), filepath.Join(dir, "summary")
			cmd := exec.Command(script, fake)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "RUNNER_TEMP=" + dir,
				"GITHUB_OUTPUT=" + output, "GITHUB_STEP_SUMMARY=" + summary,
				"GITHUB_WORKFLOW_REF=o/r/.github/workflows/w.yml@refs/tags/v1",
				"INPUT_SIGNING_KEY=" + pem, "INPUT_SIGNING_KEY_PASSPHRASE=pass word", "INPUT_REKOR_URL=http://rekor.test", "INPUT_REKOR_VERSION=1",
				"INPUT_CONTAINERD_ADDRESS=/run/test/containerd.sock", "INPUT_SOURCE_DIR=src", "INPUT_OUTPUT_DIR=" + out}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if code := exitCode(cmd.Run()); code != tc.exit {
				t.Fatalf("exit %d, want slsabox's %d:\n%s", code, tc.exit, stderr.String())
			}
			args, _ := os.ReadFile(filepath.Join(dir, "args"))
			for _, want := range []string{"build src --out " + out + " --output json --key " + dir + "/slsabox-action.", "--rekor-url http://rekor.test --rekor-version 1"} {
				if !strings.Contains(string(args), want) {
					t.Errorf("slsabox ran with %q, want %q in it", args, want)
				}
			}
			// slsabox got the passphrase in its variable and the key as a file, not in its environment.
			env, _ := os.ReadFile(filepath.Join(dir, "env"))
			if want := "pass word||" + pem; string(env) != want {
				t.Errorf("slsabox saw passphrase|INPUT_SIGNING_KEY|key file = %q, want %q", env, want)
			}
			outputs := parseOutputs(t, output)
			want := map[string]string{
				"bundle":     out + "/provenance.sigstore.json",
				"subjects":   `[{"name":"bin/he|l` + "`" + `lo","path":"` + out + `/bin/he|l` + "`" + `lo","digest":{"sha256":"ab12"},"size":7}]`,
				"log-index":  tc.logIndex,
				"log-url":    logURL,
				"output-dir": out,
				"upload":     "true",
			}
			for k, v := range want {
				if outputs[k] != v {
					t.Errorf("output %s = %q, want %q", k, outputs[k], v)
				}
			}
			sum, _ := os.ReadFile(summary)
			for _, row := range []string{"| `bin/he\\|llo` | `ab12` | 7 |", tc.logRow,
				"| builder.id | `https://github.com/o/r/.github/workflows/w.yml@refs/tags/v1` |", "| source | `c0ffee` |"} {
				if !strings.Contains(string(sum), row) {
					t.Errorf("summary lacks %q:\n%s", row, sum)
				}
			}
		})
	}
}

// parseOutputs reads a GITHUB_OUTPUT file: NAME=VALUE lines and NAME<<DELIM blocks.
func parseOutputs(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		if name, delim, ok := strings.Cut(lines[i], "<<"); ok {
			var val []string
			for i++; i < len(lines) && lines[i] != delim; i++ {
				val = append(val, lines[i])
			}
			if i == len(lines) {
				t.Fatalf("%s: output %s has no closing %s", path, name, delim)
			}
			out[name] = strings.Join(val, "\n")
		} else if name, val, ok := strings.Cut(lines[i], "="); ok {
			out[name] = val
		} else {
			t.Fatalf("%s: line %q is neither NAME=VALUE nor NAME<<DELIM", path, lines[i])
		}
	}
	return out
}
