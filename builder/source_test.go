package builder

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slsabox/slsabox/internal/hint"
)

// gitRepo makes a repository with one commit holding files.
func gitRepo(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		write(t, filepath.Join(dir, name), content, 0o644)
	}
	runGit(t, dir, "init", "-q", "-b", "main")
	runGit(t, dir, "add", "-A")
	runGit(t, dir, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "init", "--date", "2026-01-02T03:04:05Z")
	return dir
}

func runGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_COMMITTER_DATE=2026-01-02T03:04:05Z")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestExportSourceCommitted(t *testing.T) {
	repo := gitRepo(t, map[string]string{"a.txt": "a", "sub/b.txt": "b", "sub/slsabox.yaml": "x"})
	if err := os.Symlink("b.txt", filepath.Join(repo, "sub/link")); err != nil {
		t.Fatal(err)
	}
	runGit(t, repo, "add", "-A")
	runGit(t, repo, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "link")
	dest := t.TempDir()
	src, err := exportSource(context.Background(), filepath.Join(repo, "sub"), dest, false, "")
	if err != nil {
		t.Fatal(err)
	}
	if src.Subdir != "sub" || src.Dirty || src.Ref != "refs/heads/main" || len(src.Commit) != 40 {
		t.Errorf("source = %+v", src)
	}
	if src.CommitTime.Unix() != 1767323045 {
		t.Errorf("commit time = %v", src.CommitTime)
	}
	if src.Tree != runGit(t, repo, "rev-parse", "HEAD:sub") {
		t.Errorf("tree = %s", src.Tree)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "b.txt")); string(b) != "b" {
		t.Errorf("b.txt = %q", b)
	}
	if _, err := os.Stat(filepath.Join(dest, "a.txt")); !os.IsNotExist(err) {
		t.Errorf("a file outside the build directory was exported")
	}
	if l, err := os.Readlink(filepath.Join(dest, "link")); err != nil || l != "b.txt" {
		t.Errorf("link = %q, %v", l, err)
	}
}

func TestExportSourceDirty(t *testing.T) {
	repo := gitRepo(t, map[string]string{"a.txt": "a"})
	write(t, filepath.Join(repo, "a.txt"), "changed", 0o644)
	write(t, filepath.Join(repo, "new.txt"), "new", 0o644)
	_, err := exportSource(context.Background(), repo, t.TempDir(), false, "")
	if !errors.Is(err, ErrDirtyTree) || !strings.Contains(err.Error(), "a.txt") || !strings.Contains(hint.Of(err), "--allow-dirty") {
		t.Fatalf("err = %v (hint %q)", err, hint.Of(err))
	}
	dest := t.TempDir()
	src, err := exportSource(context.Background(), repo, dest, true, "")
	if err != nil {
		t.Fatal(err)
	}
	if !src.Dirty {
		t.Error("dirty export not marked dirty")
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "a.txt")); string(b) != "changed" {
		t.Errorf("a.txt = %q, want the work tree's", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "new.txt")); string(b) != "new" {
		t.Errorf("new.txt = %q", b)
	}
}

func TestExportSourceNotGit(t *testing.T) {
	_, err := exportSource(context.Background(), t.TempDir(), t.TempDir(), false, "")
	if !errors.Is(err, ErrInvalidSource) || !strings.Contains(hint.Of(err), "git init") {
		t.Fatalf("err = %v", err)
	}
	_, err = exportSource(context.Background(), "/does/not/exist", t.TempDir(), false, "")
	if !errors.Is(err, ErrInvalidSource) {
		t.Fatalf("err = %v", err)
	}
}

func TestExportSourceNothingCommitted(t *testing.T) {
	empty := t.TempDir()
	runGit(t, empty, "init", "-q", "-b", "main")
	_, err := exportSource(context.Background(), empty, t.TempDir(), false, "")
	if !errors.Is(err, ErrInvalidSource) || !strings.Contains(err.Error(), "has no commit") {
		t.Fatalf("empty repository: err = %v", err)
	}
	repo := gitRepo(t, map[string]string{"a.txt": "a"})
	write(t, filepath.Join(repo, "new/b.txt"), "b", 0o644)
	_, err = exportSource(context.Background(), filepath.Join(repo, "new"), t.TempDir(), false, "")
	if !errors.Is(err, ErrInvalidSource) || !strings.Contains(err.Error(), "not committed at HEAD") {
		t.Fatalf("uncommitted directory: err = %v", err)
	}
}

func TestExportSourceDetachedRoot(t *testing.T) {
	repo := gitRepo(t, map[string]string{"a.txt": "a", "sub/b.txt": "b"})
	runGit(t, repo, "checkout", "-q", "--detach")
	dest := t.TempDir()
	src, err := exportSource(context.Background(), repo, dest, false, "")
	if err != nil {
		t.Fatal(err)
	}
	if src.Ref != "" || src.Subdir != "" || src.Tree != runGit(t, repo, "rev-parse", "HEAD^{tree}") {
		t.Errorf("source = %+v", src)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "sub/b.txt")); string(b) != "b" {
		t.Errorf("sub/b.txt = %q", b)
	}
}

func TestExportSourceDirtyReplacesArchive(t *testing.T) {
	// The committed tree is archived beside the status; a dirty export must not keep
	// files that the work tree has deleted.
	repo := gitRepo(t, map[string]string{"a.txt": "a", "gone.txt": "g"})
	if err := os.Remove(filepath.Join(repo, "gone.txt")); err != nil {
		t.Fatal(err)
	}
	dest := t.TempDir()
	if _, err := exportSource(context.Background(), repo, dest, true, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(dest, "gone.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("gone.txt was exported from the commit: %v", err)
	}
}

func TestSafeJoin(t *testing.T) {
	dest := t.TempDir()
	if err := os.Symlink("/etc", filepath.Join(dest, "l")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"l/passwd", "l/x/y"} {
		if _, err := safeJoin(dest, name); !errors.Is(err, ErrInvalidSource) {
			t.Errorf("safeJoin(%q) = %v, want refusal", name, err)
		}
	}
	if p, err := safeJoin(dest, "../../x"); err != nil || p != filepath.Join(dest, "x") {
		t.Errorf("safeJoin(../../x) = %q, %v: want it kept inside", p, err)
	}
}

func TestStepEnv(t *testing.T) {
	got := stepEnv([]string{"PATH=/bin", "HOME=/root", "A=1"}, []EnvVar{{"A", "2"}, {"B", "3"}}, gitTime(1700000000))
	want := "PATH=/bin HOME=/tmp A=2 LC_ALL=C.UTF-8 TZ=UTC B=3 SOURCE_DATE_EPOCH=1700000000"
	if strings.Join(got, " ") != want {
		t.Errorf("env = %v, want %s", got, want)
	}
}

func gitTime(sec int64) time.Time { return time.Unix(sec, 0) }
