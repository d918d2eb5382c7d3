package builder

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slsabox/slsabox/internal/hint"
)

// secretKey is shaped like an OpenSSH private key: every line one word, as the go.mod
// parser would quote them ("unknown directive: <first word>").
const secretKey = `-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACDqSECRETSECRETSECRETSECRETSECRETSECRETSECRETAAAAmJ0ZXN0X2tl
eV9ub3RfcmVhbF9TRUNSRVRTRUNSRVRTRUNSRVRTRUNSRVRTRUNSRVRTRUNSRVRTRUNSRV
-----END OPENSSH PRIVATE KEY-----
`

// secretLines are the parts of secretKey no error may carry whole.
func secretLines() []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(secretKey), "\n") {
		out = append(out, l[maxQuoted:]) // anything past the cut
	}
	return out
}

func noSecret(t *testing.T, what string, err error) {
	t.Helper()
	for _, s := range []string{err.Error(), hint.Of(err)} {
		for _, l := range secretLines() {
			if strings.Contains(s, l) {
				t.Errorf("%s: the error quotes the secret (%q): %s", what, l, s)
			}
		}
	}
}

// hostileRoot is a source directory whose files are links out of it and special
// files, beside a secret outside it.
func hostileRoot(t *testing.T) (root, secret string) {
	t.Helper()
	dir := t.TempDir()
	secret = filepath.Join(dir, "secret")
	root = filepath.Join(dir, "src")
	must(t, os.WriteFile(secret, []byte(secretKey), 0o600))
	must(t, os.Mkdir(root, 0o755))
	must(t, os.Mkdir(filepath.Join(dir, "outdir"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "outdir", "go.sum"), []byte(secretKey), 0o600))
	must(t, os.WriteFile(filepath.Join(root, "ok"), []byte("fine\n"), 0o644))
	must(t, os.Symlink("ok", filepath.Join(root, "inside")))
	must(t, os.Symlink(secret, filepath.Join(root, "abs")))
	must(t, os.Symlink("../secret", filepath.Join(root, "rel")))
	must(t, os.Symlink("/dev/zero", filepath.Join(root, "zero")))
	must(t, os.Symlink("../outdir", filepath.Join(root, "dirlink")))
	must(t, syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644))
	must(t, os.Symlink(filepath.Join(dir, "fifo"), filepath.Join(root, "fifolink")))
	must(t, syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644))
	must(t, os.Mkdir(filepath.Join(root, "dir"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "big"), make([]byte, 2048), 0o644))
	return root, secret
}

func TestReadSourceFile(t *testing.T) {
	root, _ := hostileRoot(t)
	for _, tc := range []struct {
		name string
		want error
	}{
		{"ok", nil},
		{"inside", nil},
		{"abs", errLeavesRoot},
		{"rel", errLeavesRoot},
		{"zero", errLeavesRoot},
		{"dirlink/go.sum", errLeavesRoot},
		{"fifolink", errLeavesRoot},
		{"fifo", errNotRegular},
		{"dir", errNotRegular},
		{"big", errTooLarge},
		{"missing", fs.ErrNotExist},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan struct{})
			var (
				data []byte
				err  error
			)
			go func() { defer close(done); data, err = readSourceFile(root, tc.name, 1024) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("readSourceFile blocked")
			}
			if tc.want == nil {
				if err != nil || string(data) != "fine\n" {
					t.Errorf("= %q, %v", data, err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("the error names the link's target: %v", err)
			}
		})
	}
}

func TestReadUserFile(t *testing.T) {
	root, _ := hostileRoot(t)
	for name, want := range map[string]error{"/dev/zero": errNotRegular, filepath.Join(root, "fifo"): errNotRegular, filepath.Join(root, "big"): errTooLarge} {
		if _, err := readUserFile(name, 1024); !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", name, err, want)
		}
	}
}

// TestReadGoSumsHostile: go.sum and go.mod that lead out of the source are refused
// without a byte of what they point at; a go.mod that is not one is reported by its
// first error, its token cut.
func TestReadGoSumsHostile(t *testing.T) {
	p := sampleProxy(t)
	for _, tc := range []struct {
		name        string
		sum, mod    string // link targets; "" for a regular file
		modContent  string
		wantInError string
	}{
		{name: "go.sum to a secret", sum: "SECRET", wantInError: "go.sum is a symlink that leads out of the source"},
		{name: "go.mod to a secret", mod: "SECRET", wantInError: "go.mod is a symlink that leads out of the source"},
		{name: "go.sum to /dev/zero", sum: "/dev/zero", wantInError: "leads out of the source"},
		{name: "go.mod to a FIFO", mod: "FIFO", wantInError: "leads out of the source"},
		{name: "go.mod holding a key", modContent: secretKey, wantInError: `go.mod:1: unknown directive "-----BEGIN" (and 4 more errors)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			secret := filepath.Join(dir, "secret")
			must(t, os.WriteFile(secret, []byte(secretKey), 0o600))
			fifo := filepath.Join(dir, "fifo")
			must(t, syscall.Mkfifo(fifo, 0o644))
			src := filepath.Join(dir, "src")
			must(t, os.Mkdir(src, 0o755))
			place := func(name, target, content string) {
				switch target {
				case "":
					must(t, os.WriteFile(filepath.Join(src, name), []byte(content), 0o644))
				case "SECRET":
					must(t, os.Symlink(secret, filepath.Join(src, name)))
				case "FIFO":
					must(t, os.Symlink(fifo, filepath.Join(src, name)))
				default:
					must(t, os.Symlink(target, filepath.Join(src, name)))
				}
			}
			place("go.sum", tc.sum, p.goSum())
			mod := tc.modContent
			if mod == "" {
				mod = "module m\n\ngo 1.21\n\nrequire example.com/greet v1.2.0\n"
			}
			place("go.mod", tc.mod, mod)
			done := make(chan error, 1)
			go func() { _, err := readGoSums(src, []Input{{GoMod: "go.sum"}}); done <- err }()
			var err error
			select {
			case err = <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("readGoSums blocked")
			}
			if !errors.Is(err, ErrInvalidSource) || !strings.Contains(err.Error(), tc.wantInError) {
				t.Fatalf("err = %v, want ErrInvalidSource saying %q", err, tc.wantInError)
			}
			noSecret(t, tc.name, err)
		})
	}
}

func TestParseGoSumBoundsTokens(t *testing.T) {
	long := strings.Repeat("A", 200)
	_, err := parseGoSum("go.sum", []byte("example.com/m v1.0.0 "+long+"\n"))
	if !errors.Is(err, ErrInvalidSource) || strings.Contains(err.Error(), long[:maxQuoted+1]) {
		t.Errorf("err = %v", err)
	}
}

// TestLoadDefinitionHostile: a slsabox.yaml that leads out of the source is refused
// without being read; one that is a secret is reported without quoting it.
func TestLoadDefinitionHostile(t *testing.T) {
	root, secret := hostileRoot(t)
	for _, name := range []string{"abs", "rel", "zero", "fifolink", "fifo", "dirlink/go.sum"} {
		done := make(chan error, 1)
		go func() { _, err := LoadDefinition(root, filepath.Join(root, name)); done <- err }()
		select {
		case err := <-done:
			if !errors.Is(err, ErrInvalidDefinition) {
				t.Errorf("%s: %v", name, err)
				continue
			}
			noSecret(t, name, err)
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: LoadDefinition blocked", name)
		}
	}
	// The default file, a link to the secret.
	must(t, os.Symlink(secret, filepath.Join(root, "slsabox.yaml")))
	_, err := LoadDefinition(root, "")
	if !errors.Is(err, ErrInvalidDefinition) || !strings.Contains(err.Error(), "the build definition is a symlink that leads out of the source") {
		t.Errorf("slsabox.yaml -> secret: %v", err)
	}
	// A file outside the source that the user names is read, as the user's own: it
	// must still be a regular file.
	if _, err := LoadDefinition(root, "/dev/zero"); !errors.Is(err, ErrInvalidDefinition) || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("-f /dev/zero: %v", err)
	}
	big := filepath.Join(t.TempDir(), "big.yaml")
	must(t, os.WriteFile(big, make([]byte, maxDefinitionSize+1), 0o644))
	if _, err := LoadDefinition(root, big); !errors.Is(err, ErrInvalidDefinition) || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("-f big: %v", err)
	}
}

// TestParseDefinitionBoundsContent: whatever a definition holds, an error quotes at
// most maxQuoted bytes of it.
func TestParseDefinitionBoundsContent(t *testing.T) {
	long := "ghp_" + strings.Repeat("s3cr3t", 20)
	for _, doc := range []string{
		secretKey,
		long + "\n",
		"password: " + long + "\n",
		long + ": x\n",
		"version: 1\nimage: " + long + "\n",
		"version: 1\nimage: " + long + "@sha256:" + hex64 + "\n",
		"version: 1\nimage: x@sha256:" + long + "\n",
		"version: '" + long + "'\n",
		"version: 1\nimage: x@sha256:" + hex64 + "\nsteps: [{name: a, run: [x], env: {" + strings.ToUpper(long[4:]) + ": 1, " + strings.ToUpper(long[4:]) + ": 2}}]\n",
		"a: *" + long + "\n",
		"version: 1\nimage: " + strings.ToUpper(long) + "@sha256:" + hex64 + "\n",
		"version: 1\nimage: can't/" + long + "@sha256:" + hex64 + "\n",
	} {
		_, err := ParseDefinition("slsabox.yaml", []byte(doc))
		if err == nil {
			t.Errorf("%q parsed", doc)
			continue
		}
		for _, s := range []string{err.Error(), hint.Of(err)} {
			for _, secret := range append(secretLines(), long[maxQuoted:], strings.ToUpper(long[4:])[maxQuoted:], strings.ToUpper(long)[maxQuoted:]) {
				if strings.Contains(s, secret) {
					t.Errorf("the error quotes the content: %s", s)
				}
			}
		}
	}
}

// TestDefinitionInExport: an edit of slsabox.yaml that git status does not show is
// not built as the commit's definition.
func TestDefinitionInExport(t *testing.T) {
	for _, tc := range []struct {
		name string
		hide func(t *testing.T, dir string)
	}{
		{"assume-unchanged", func(t *testing.T, dir string) {
			runGit(t, dir, "update-index", "--assume-unchanged", "slsabox.yaml")
			write(t, filepath.Join(dir, "slsabox.yaml"), validDef+"# edited\n", 0o644)
		}},
		{"skip-worktree", func(t *testing.T, dir string) {
			runGit(t, dir, "update-index", "--skip-worktree", "slsabox.yaml")
			write(t, filepath.Join(dir, "slsabox.yaml"), validDef+"# edited\n", 0o644)
		}},
		{"ignored and not committed", func(t *testing.T, dir string) {
			runGit(t, dir, "rm", "-q", "--cached", "slsabox.yaml")
			write(t, filepath.Join(dir, ".gitignore"), "slsabox.yaml\n", 0o644)
			runGit(t, dir, "add", ".gitignore")
			runGit(t, dir, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "ignore")
		}},
		{"unchanged", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := gitRepo(t, map[string]string{"slsabox.yaml": validDef, "main.go": "package main\n"})
			if tc.hide != nil {
				tc.hide(t, dir)
			}
			dest := t.TempDir()
			src, err := exportSource(context.Background(), dir, dest, false, "")
			if err != nil {
				t.Fatalf("export: %v (git status shows nothing)", err)
			}
			def, err := LoadDefinition(dir, "")
			if err != nil {
				t.Fatal(err)
			}
			err = definitionInExport(dest, "slsabox.yaml", def, src)
			if tc.hide == nil {
				if err != nil {
					t.Errorf("unchanged: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrDirtyTree) {
				t.Errorf("err = %v, want ErrDirtyTree", err)
			}
		})
	}
}

// TestRelTo: a definition outside the built directory is named by its absolute path,
// never as if it were inside the repository.
func TestRelTo(t *testing.T) {
	base := t.TempDir()
	if got := relTo(base, filepath.Join(base, "sub", "slsabox.yaml")); got != "sub/slsabox.yaml" {
		t.Errorf("inside: %q", got)
	}
	if got := relTo(base, "/tmp/x.yaml"); got != "/tmp/x.yaml" {
		t.Errorf("outside: %q", got)
	}
	wd, _ := os.Getwd()
	if got := relTo(base, "x.yaml"); got != filepath.Join(wd, "x.yaml") {
		t.Errorf("relative, outside: %q", got)
	}
}

// TestBoundMsg: a parser's message never carries more than maxQuoted bytes of one
// token, quoted or not, whatever quotes or apostrophes stand before it.
func TestBoundMsg(t *testing.T) {
	secret := strings.Repeat("AKIASECRET", 8)
	for _, msg := range []string{
		"require " + secret + ": version \"v1\" invalid",
		"can't use \"AAAA'" + secret + "\"",
		"cannot unmarshal `" + secret + "` into int",
		"unknown directive: " + secret,
	} {
		got := boundMsg(msg)
		if strings.Contains(got, secret[:maxQuoted+1]) {
			t.Errorf("boundMsg(%q) = %q: more than %d bytes of a token", msg, got, maxQuoted)
		}
	}
}

// TestLoadDefinitionElsewhereInRepository: -f ci/slsabox.yaml for the source app/ of
// the same repository is the commit's file too, and opened inside the repository.
func TestLoadDefinitionElsewhereInRepository(t *testing.T) {
	_, secret := hostileRoot(t)
	top := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(top, ".git"), 0o755))
	must(t, os.MkdirAll(filepath.Join(top, "app"), 0o755))
	must(t, os.MkdirAll(filepath.Join(top, "ci"), 0o755))
	must(t, os.Symlink(secret, filepath.Join(top, "ci", "evil.yaml")))
	_, err := LoadDefinition(filepath.Join(top, "app"), filepath.Join(top, "ci", "evil.yaml"))
	if !errors.Is(err, ErrInvalidDefinition) || !strings.Contains(err.Error(), "leads out of the source") {
		t.Fatalf("-f ci/evil.yaml -> secret: %v", err)
	}
	noSecret(t, "ci/evil.yaml", err)
	good := "version: 1\nimage: x@sha256:" + hex64 + "\nsteps: [{name: a, run: [x]}]\noutputs: [/out/x]\n"
	must(t, os.WriteFile(filepath.Join(top, "ci", "good.yaml"), []byte(good), 0o644))
	if _, err := LoadDefinition(filepath.Join(top, "app"), filepath.Join(top, "ci", "good.yaml")); err != nil {
		t.Fatalf("-f ci/good.yaml: %v", err)
	}
}

// TestKernelPseudoFile: an oci-archive: path that is, or links to, a kernel
// pseudo-file is refused before it is opened.
func TestKernelPseudoFile(t *testing.T) {
	dir := t.TempDir()
	must(t, os.Symlink("/proc/self/environ", filepath.Join(dir, "img.tar")))
	must(t, os.WriteFile(filepath.Join(dir, "real.tar"), []byte("x"), 0o644))
	for path, want := range map[string]string{
		"/proc/self/status": "/proc", "/sys/kernel": "/sys", "/dev/zero": "/dev",
		filepath.Join(dir, "img.tar"): "/proc", filepath.Join(dir, "real.tar"): "",
	} {
		if got := kernelPseudoFile(path); got != want {
			t.Errorf("kernelPseudoFile(%s) = %q, want %q", path, got, want)
		}
	}
}
