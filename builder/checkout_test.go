package builder

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckoutCommit(t *testing.T) {
	repo := gitRepo(t, map[string]string{"sub/a.txt": "one\n"})
	first := runGit(t, repo, "rev-parse", "HEAD")
	if err := os.WriteFile(filepath.Join(repo, "sub", "a.txt"), []byte("two\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runGit(t, repo, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qam", "second")
	ctx := context.Background()
	dest := filepath.Join(t.TempDir(), "co")
	root, err := CheckoutCommit(ctx, filepath.Join(repo, "sub"), first, dest)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dest, "sub", "a.txt")); string(got) != "one\n" || root != repo {
		t.Errorf("checkout has %q (root %s), want the first commit's file", got, root)
	}
	src, err := exportSource(ctx, filepath.Join(dest, "sub"), t.TempDir(), false, "")
	if err != nil || src.Commit != first || src.Subdir != "sub" {
		t.Errorf("export of the checkout: %+v, %v", src, err)
	}
	if out := runGit(t, repo, "worktree", "list"); strings.Count(out, "\n") != 0 || runGit(t, repo, "rev-parse", "HEAD") == first {
		t.Errorf("the repository changed: %s", out)
	}
	for name, c := range map[string]string{"absent": "0123456789012345678901234567890123456789", "short": "abc"} {
		if _, err := CheckoutCommit(ctx, repo, c, filepath.Join(t.TempDir(), "x")); !errors.Is(err, ErrInvalidSource) {
			t.Errorf("%s commit: %v", name, err)
		}
	}
	if _, err := CheckoutCommit(ctx, t.TempDir(), first, filepath.Join(t.TempDir(), "x")); !errors.Is(err, ErrInvalidSource) {
		t.Errorf("not a repository: %v", err)
	}
}
