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
// input and a hint, exit 2, and no outputs but upload. token says whether the job
// may request an OIDC token (permissions: id-token: write).
func TestBuildScriptRejects(t *testing.T) {
	testenv.Programs(t, "bash", "jq")
	const pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----"
	script := filepath.Join(testenv.RepoRoot(t), "scripts", "action", "build.sh")
	for _, tc := range []struct {
		name   string
		inputs map[string]string
		stderr []string
		token  bool
	}{
		{"no key and no id-token", map[string]string{"REKOR_URL": "http://rekor.test"},
			[]string{"::error title=slsabox action::nothing to sign with: no signing-key or kms-key, and the job cannot request an OIDC token",
				"hint: grant the job an OIDC token with `permissions: id-token: write`", "signing-key: ${{ secrets.SLSABOX_SIGNING_KEY }}"}, false},
		{"keyless without id-token", map[string]string{"KEYLESS": "true", "REKOR_URL": "http://rekor.test"},
			[]string{"keyless is true, but the job cannot request an OIDC token", "add `permissions: id-token: write` to the job"}, false},
		{"keyless and a key", map[string]string{"KEYLESS": "true", "SIGNING_KEY": pem},
			[]string{"keyless is true, but signing-key or kms-key is set too", "drop the key input"}, true},
		{"keyless false and no key", map[string]string{"KEYLESS": "false"},
			[]string{"keyless is false, but no signing key is given", "secrets.SLSABOX_SIGNING_KEY"}, true},
		{"bad keyless", map[string]string{"KEYLESS": "sometimes"},
			[]string{`input keyless must be true or false, not "sometimes"`}, true},
		{"no log", map[string]string{},
			[]string{"no transparency log: rekor-url is not set", "https://rekor.sigstore.dev with rekor-version: 1"}, true},
		{"two keys", map[string]string{"SIGNING_KEY": pem, "KMS_KEY": "awskms:///alias/release"},
			[]string{"signing-key and kms-key are both set"}, false},
		{"not a PEM key", map[string]string{"SIGNING_KEY": "ssh-ed25519 AAAA... me@host"},
			[]string{"signing-key is not a PEM private key", "slsabox keygen"}, true},
		{"a public key", map[string]string{"SIGNING_KEY": strings.ReplaceAll(pem, "PRIVATE", "PUBLIC")},
			[]string{"signing-key is not a PEM private key"}, false},
		{"bad boolean", map[string]string{"SIGNING_KEY": pem, "NO_TLOG": "maybe"},
			[]string{`input no-tlog must be true or false, not "maybe"`}, false},
		{"bad upload", map[string]string{"SIGNING_KEY": pem, "UPLOAD": "sometimes"},
			[]string{`input upload must be true or false, not "sometimes"`}, false},
		{"bad runtime", map[string]string{"SIGNING_KEY": pem, "RUNTIME": "kata"},
			[]string{`input runtime must be runc or gvisor, not "kata"`, "runtime: gvisor"}, false},
		// A newline in an input must not start a workflow command of its own.
		{"input with a newline", map[string]string{"SIGNING_KEY": pem, "RUNTIME": "kata\n::warning::injected\r%"},
			[]string{`not "kata%0A::warning::injected%0D%25"`}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			output := filepath.Join(dir, "output")
			cmd := exec.Command(script, "/bin/true")
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "RUNNER_TEMP=" + dir, "GITHUB_OUTPUT=" + output}
			if tc.token {
				cmd.Env = append(cmd.Env, "ACTIONS_ID_TOKEN_REQUEST_URL=http://token.test/?api-version=2.0", "ACTIONS_ID_TOKEN_REQUEST_TOKEN=s3cr3t-request-token")
			}
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
			if strings.Contains(stderr.String(), "\n::warning::injected") {
				t.Errorf("an input's newline started a workflow command:\n%s", stderr.String())
			}
			if strings.Contains(stderr.String(), "MC4CAQAwBQYDK2VwBCIEIA") || strings.Contains(stderr.String(), "s3cr3t-request-token") {
				t.Errorf("the key or the token request secret leaked into the log:\n%s", stderr.String())
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
// outputs and the summary table, for a logged and an unlogged (log outage) build,
// signed with a key and keyless. A shell script stands in for slsabox here, printing
// results of the shape `slsabox build --output json` prints; TestActionWithAct and
// TestKeylessActionWithAct run the real one.
func TestBuildScriptHandsBack(t *testing.T) {
	testenv.Programs(t, "bash", "jq", "base64")
	const (
		pem    = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----"
		secret = "s3cr3t-request-token"
		san    = "https://github.com/o/r/.github/workflows/w.yml@refs/tags/v1"
		issuer = "https://token.actions.githubusercontent.com"
	)
	script := filepath.Join(testenv.RepoRoot(t), "scripts", "action", "build.sh")
	for _, tc := range []struct {
		name     string
		keyless  bool
		logged   bool
		exit     int
		logIndex string
		rows     []string
		push     bool
		runtime  string // the runtime input
	}{
		{"pushed images", false, true, 0, "42", []string{"| image | `127.0.0.1:5006/acme/hello@sha256:" + strings.Repeat("d", 64) + "`, provenance attached as referrer `sha256:" + strings.Repeat("e", 64) + "` |"}, true, ""},
		{"logged", false, true, 0, "42", []string{"| log entry | index **42** in `http://rekor.test` |", "| signed | with a **key** (signing-key or kms-key) |"}, false, "gvisor"},
		{"log outage", false, false, 3, "", []string{"| log entry | **none: not logged**; when the log is back: `slsabox upload --bundle ",
			"/provenance.sigstore.json --key KEY --rekor-url http://rekor.test` |"}, false, "runc"},
		{"keyless", true, true, 0, "42", []string{"| log entry | index **42** in `http://rekor.test` |",
			"| signed | **keyless**, a certificate from `http://fulcio.test` |",
			"| certificate identity | `" + san + "` |", "| certificate issuer | `" + issuer + "` |"}, false, ""},
		{"keyless log outage", true, false, 3, "", []string{"/provenance.sigstore.json --rekor-url http://rekor.test` |",
			"| certificate identity | `" + san + "` |"}, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out")
			fake := filepath.Join(dir, "slsabox")
			logged, logURL := "false", ""
			if tc.logged {
				logged, logURL = "true", "http://rekor.test"
			}
			signing := `"signingMode":"key"`
			if tc.keyless {
				signing = `"signingMode":"keyless","certificateIdentity":"` + san + `","certificateIssuer":"` + issuer + `"`
			}
			// A subject name with | and ` must not break the Markdown table.
			// A build of images only (the push case) has no file subjects at all.
			files := `"subjects":[{"name":"bin/he|l` + "`" + `lo","sha256":"ab12","size":7}],`
			if tc.push {
				files = ""
			}
			result := `{"buildId":"b1","outDir":"` + out + `","source":{"commit":"c0ffee","dirty":false},` +
				`"image":{"manifestDigest":"sha256:1234"},` + files +
				`"provenance":{"bundle":"` + out + `/provenance.sigstore.json","logged":` + logged + `,"logUrl":"` + logURL + `","logIndex":42,` + signing + `}`
			pushedRef := "127.0.0.1:5006/acme/hello@sha256:" + strings.Repeat("d", 64)
			if tc.push {
				result += `,"images":[{"name":"registry.example.com/acme/hello","digest":"sha256:` + strings.Repeat("d", 64) + `"}],` +
					`"pushed":[{"name":"registry.example.com/acme/hello","ref":"` + pushedRef + `","digest":"sha256:` + strings.Repeat("d", 64) + `","referrer":"sha256:` + strings.Repeat("e", 64) + `"}]`
			}
			result += `}`

			fakeScript := "#!/bin/sh\nset -e\necho \"$*\" >" + filepath.Join(dir, "args") + "\n" +
				"key=/dev/null; prev=; for a; do [ \"$prev\" = --key ] && key=$a; prev=$a; done\n" +
				"printf '%s|%s|%s|%s' \"$SLSABOX_KEY_PASSWORD\" \"${INPUT_SIGNING_KEY:-}\" \"$(cat \"$key\")\" \"${ACTIONS_ID_TOKEN_REQUEST_TOKEN:-}\" >" + filepath.Join(dir, "env") + "\n" +
				"printf '%s|%s' \"${GITHUB_TOKEN:-}\" \"${INPUT_REGISTRY_TOKEN:-}\" >" + filepath.Join(dir, "token") + "\n" +
				"printf '%s' \"${SLSABOX_RUNTIME:-}\" >" + filepath.Join(dir, "runtime-env") + "\n" +
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
				"ACTIONS_ID_TOKEN_REQUEST_URL=http://token.test/?api-version=2.0", "ACTIONS_ID_TOKEN_REQUEST_TOKEN=" + secret,
				"INPUT_KEYLESS=auto", "INPUT_FULCIO_URL=http://fulcio.test", "INPUT_TSA_URL=http://tsa.test/api/v1/timestamp",
				"INPUT_SIGNING_KEY_PASSPHRASE=pass word", "INPUT_REKOR_URL=http://rekor.test", "INPUT_REKOR_VERSION=1",
				"INPUT_CONTAINERD_ADDRESS=/run/test/containerd.sock", "INPUT_SOURCE_DIR=src", "INPUT_OUTPUT_DIR=" + out}
			if !tc.keyless {
				cmd.Env = append(cmd.Env, "INPUT_SIGNING_KEY="+pem)
			}
			cmd.Env = append(cmd.Env, "INPUT_REGISTRY_TOKEN=ghs_token", "INPUT_RUNTIME="+tc.runtime,
				"SLSABOX_RUNTIME=runc") // the runner's environment must not choose for the input
			if tc.push {
				cmd.Env = append(cmd.Env, "INPUT_PUSH=true", "INPUT_REGISTRY=127.0.0.1:5006", "INPUT_TAGS=v1.2.3\nlatest")
			}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if code := exitCode(cmd.Run()); code != tc.exit {
				t.Fatalf("exit %d, want slsabox's %d:\n%s", code, tc.exit, stderr.String())
			}
			args, _ := os.ReadFile(filepath.Join(dir, "args"))
			head := "build src --out " + out + " --output json"
			if tc.runtime != "" {
				head += " --runtime " + tc.runtime
			}
			wantArgs := []string{head + " --key " + dir + "/slsabox-action.", "--rekor-url http://rekor.test --rekor-version 1"}
			if tc.keyless {
				wantArgs[0] = head + " --keyless --fulcio-url http://fulcio.test --tsa-url http://tsa.test/api/v1/timestamp --rekor-url"
			}
			for _, want := range wantArgs {
				if !strings.Contains(string(args), want) {
					t.Errorf("slsabox ran with %q, want %q in it", args, want)
				}
			}
			// The runtime input reaches slsabox as --runtime (wantArgs), and only when given.
			if tc.runtime == "" && strings.Contains(string(args), "--runtime") {
				t.Errorf("no runtime input, but slsabox ran with %q", args)
			}
			if env, _ := os.ReadFile(filepath.Join(dir, "runtime-env")); len(env) != 0 {
				t.Errorf("slsabox saw SLSABOX_RUNTIME=%q from the runner's environment", env)
			}
			if tc.push != strings.Contains(string(args), "--push --registry 127.0.0.1:5006 --tag v1.2.3 --tag latest") {
				t.Errorf("push %v, but slsabox ran with %q", tc.push, args)
			}
			// The registry token reaches slsabox, as GITHUB_TOKEN, only when it pushes.
			if token, _ := os.ReadFile(filepath.Join(dir, "token")); tc.push && string(token) != "ghs_token|" || !tc.push && string(token) != "|" {
				t.Errorf("slsabox saw GITHUB_TOKEN|INPUT_REGISTRY_TOKEN = %q (push %v)", token, tc.push)
			}
			if tc.keyless && strings.Contains(string(args), "--key ") {
				t.Errorf("a keyless build was given a key: %q", args)
			}
			// slsabox got the passphrase in its variable and the key as a file, not in its
			// environment; the token request secret only in its variable, never in a log.
			env, _ := os.ReadFile(filepath.Join(dir, "env"))
			want := "pass word||" + pem + "|" + secret
			if tc.keyless {
				want = "pass word|||" + secret
			}
			if string(env) != want {
				t.Errorf("slsabox saw passphrase|INPUT_SIGNING_KEY|key file|token secret = %q, want %q", env, want)
			}
			if strings.Contains(stderr.String()+stdout.String(), secret) || strings.Contains(string(args), secret) {
				t.Errorf("the token request secret is in the log or on the command line:\n%s%s", stdout.String(), stderr.String())
			}
			outputs := parseOutputs(t, output)
			wantOut := map[string]string{
				"bundle":                  out + "/provenance.sigstore.json",
				"subjects":                `[{"name":"bin/he|l` + "`" + `lo","path":"` + out + `/bin/he|l` + "`" + `lo","digest":{"sha256":"ab12"},"size":7}]`,
				"log-index":               tc.logIndex,
				"log-url":                 logURL,
				"output-dir":              out,
				"upload":                  "true",
				"signing-mode":            "key",
				"certificate-identity":    "",
				"certificate-oidc-issuer": "",
				"images":                  "[]",
				"pushed":                  "false",
			}
			if tc.push {
				wantOut["images"], wantOut["pushed"], wantOut["subjects"] = `["`+pushedRef+`"]`, "true", "[]"
			}
			if tc.keyless {
				wantOut["signing-mode"], wantOut["certificate-identity"], wantOut["certificate-oidc-issuer"] = "keyless", san, issuer
			}
			for k, v := range wantOut {
				if got, ok := outputs[k]; !ok || got != v {
					t.Errorf("output %s = %q (set: %v), want %q", k, got, ok, v)
				}
			}
			sum, _ := os.ReadFile(summary)
			fileRow := "| `bin/he\\|llo` | `ab12` | 7 |"
			if tc.push {
				fileRow = "| `registry.example.com/acme/hello` (image) | `" + strings.Repeat("d", 64) + "` | |"
			}
			for _, row := range append(tc.rows, fileRow,
				"| builder.id | `https://github.com/o/r/.github/workflows/w.yml@refs/tags/v1` |", "| source | `c0ffee` |") {
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
