//go:build integration

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slsabox/slsabox/internal/testenv"
)

// TestHostileRepository builds commits whose go.mod, go.sum or slsabox.yaml is a
// symlink to a secret planted on the host, to /dev/zero or to a FIFO: slsabox runs as
// root and must not read any of them. Each build fails within seconds with exit 2
// (invalid input), and no part of the secret reaches stdout, stderr, the build log or
// OUT.failed.log. No step ever runs, so the image's contents do not matter.
func TestHostileRepository(t *testing.T) {
	testenv.Containerd(t)
	image := testenv.Image(t, "testbox.tar")
	host := t.TempDir()
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	secret := "-----BEGIN OPENSSH PRIVATE KEY-----\n" + hex.EncodeToString(raw) + "\n-----END OPENSSH PRIVATE KEY-----\n"
	secretFile := filepath.Join(host, "ssh_host_ed25519_key")
	if err := os.WriteFile(secretFile, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(host, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	def := "version: 1\nimage: " + image + "\ninputs:\n  - gomod: go.sum\nsteps:\n  - name: build\n    run: [\"true\"]\noutputs: [\"/out/*\"]\n"
	goMod := "module example.com/hostile\n\ngo 1.21\n"
	targets := map[string]string{"secret": secretFile, "zero": "/dev/zero", "fifo": fifo}

	for _, file := range []string{"go.mod", "go.sum", "slsabox.yaml"} {
		for what, target := range targets {
			t.Run(file+"->"+what, func(t *testing.T) {
				repo := t.TempDir()
				files := map[string]string{"slsabox.yaml": def, "go.mod": goMod, "go.sum": ""}
				for name, content := range files {
					if name == file {
						if err := os.Symlink(target, filepath.Join(repo, name)); err != nil {
							t.Fatal(err)
						}
						continue
					}
					if err := os.WriteFile(filepath.Join(repo, name), []byte(content), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				gitInitCommit(t, repo)
				out := filepath.Join(t.TempDir(), "out")

				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				cmd := exec.CommandContext(ctx, slsaboxBin, "build", repo, "-o", out, "--unsigned")
				cmd.Env = append(os.Environ(), "SLSABOX_NAMESPACE=slsabox-test-cli")
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				start := time.Now()
				err := cmd.Run()
				took := time.Since(start)
				if ctx.Err() != nil {
					t.Fatalf("slsabox build still ran after %s:\n%s", took, stderr.String())
				}
				code := 0
				if ee, ok := err.(*exec.ExitError); ok {
					code = ee.ExitCode()
				} else if err != nil {
					t.Fatal(err)
				}
				if code != 2 {
					t.Errorf("exit %d, want 2:\n%s", code, stderr.String())
				}
				if took > 15*time.Second {
					t.Errorf("the build took %s to fail", took)
				}
				if !strings.Contains(stderr.String(), "leads out of the source") {
					t.Errorf("stderr does not say the file leads out of the source:\n%s", stderr.String())
				}
				noStepRan(t, stderr.String())
				leaked := map[string]string{"stdout": stdout.String(), "stderr": stderr.String()}
				for _, f := range []string{filepath.Join(out, "build.log"), out + ".failed.log"} {
					if data, err := os.ReadFile(f); err == nil {
						leaked[f] = string(data)
					}
				}
				for where, text := range leaked {
					if i := leaks(text, secret); i != "" {
						t.Errorf("%s holds part of the secret (%q):\n%s", where, i, text)
					}
				}
			})
		}
	}
}

// leaks returns the first 8-byte piece of the secret's key material found in text.
func leaks(text, secret string) string {
	material := strings.Split(secret, "\n")[1]
	for i := 0; i+8 <= len(material); i++ {
		if strings.Contains(text, material[i:i+8]) {
			return material[i : i+8]
		}
	}
	if strings.Contains(text, "OPENSSH") {
		return "OPENSSH"
	}
	return ""
}

// gitInitCommit makes dir a repository with everything in it committed (symlinks as
// symlinks).
func gitInitCommit(t *testing.T, dir string) {
	t.Helper()
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"},
		{"-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "test project"}} {
		if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
}

// TestHiddenDefinitionEdit: an edit of slsabox.yaml hidden from git status
// (--assume-unchanged) is refused, not built and recorded as the commit's.
func TestHiddenDefinitionEdit(t *testing.T) {
	repo, def := trivialRepo(t)
	if out, err := exec.Command("git", "-C", repo, "update-index", "--assume-unchanged", "slsabox.yaml").CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	edited := strings.Replace(def, `run: ["true"]`, `run: ["false"]`, 1)
	if err := os.WriteFile(filepath.Join(repo, "slsabox.yaml"), []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := slsabox(t, "build", repo, "-o", filepath.Join(t.TempDir(), "out"), "--unsigned")
	if code != 2 || !strings.Contains(stderr, "slsabox.yaml in the work tree differs from the one in the exported source") {
		t.Errorf("exit %d, want 2:\n%s", code, stderr)
	}
	noStepRan(t, stderr)
}

// TestGitHubCheckoutMismatch: in GitHub Actions, a checkout of another ref or another
// repository than the workflow's is refused, not recorded as the workflow's.
func TestGitHubCheckoutMismatch(t *testing.T) {
	repo, _ := trivialRepo(t)
	if out, err := exec.Command("git", "-C", repo, "remote", "add", "origin", "https://github.com/o/r.git").CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	head, err := exec.Command("git", "-C", repo, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	key := keygen(t)
	for name, tc := range map[string]struct{ repository, sha, want string }{
		"another ref":        {"o/r", strings.Repeat("e", 40), "not at GITHUB_SHA"},
		"another repository": {"o/other", strings.TrimSpace(string(head)), "is not GITHUB_REPOSITORY's"},
	} {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(slsaboxBin, "build", repo, "-o", filepath.Join(t.TempDir(), "out"), "--key", key+".key", "--no-tlog")
			cmd.Env = append(os.Environ(), "SLSABOX_NAMESPACE=slsabox-test-cli", "GITHUB_ACTIONS=true", "GITHUB_SERVER_URL=https://github.com",
				"GITHUB_REPOSITORY="+tc.repository, "GITHUB_REF=refs/heads/main", "GITHUB_SHA="+tc.sha, "ACTIONS_ID_TOKEN_REQUEST_URL=", "ACTIONS_ID_TOKEN_REQUEST_TOKEN=")
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), tc.want) {
				t.Errorf("%v, want exit 2 saying %q:\n%s", err, tc.want, out)
			}
		})
	}
}

// trivialRepo commits a definition with one step that does nothing, in the test
// image, and returns the repository and the definition.
func trivialRepo(t *testing.T) (string, string) {
	t.Helper()
	testenv.Containerd(t)
	image := testenv.Image(t, "testbox.tar")
	repo := t.TempDir()
	def := "version: 1\nimage: " + image + "\nsteps:\n  - name: build\n    run: [\"true\"]\noutputs: [\"/out/*\"]\n"
	if err := os.WriteFile(filepath.Join(repo, "slsabox.yaml"), []byte(def), 0o644); err != nil {
		t.Fatal(err)
	}
	gitInitCommit(t, repo)
	return repo, def
}
