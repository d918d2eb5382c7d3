package builder

import (
	"context"
	"fmt"
	"os"
	"regexp"

	"github.com/slsabox/slsabox/internal/hint"
)

var commitRE = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)

// CheckoutCommit makes dest (which must not exist) a work tree of the commit, taken
// from the git repository that holds dir, and returns that repository's root. The
// clone shares the repository's objects and leaves the repository itself untouched:
// no new worktree, ref or config. slsabox rebuild builds from it.
func CheckoutCommit(ctx context.Context, dir, commit, dest string) (string, error) {
	if !commitRE.MatchString(commit) {
		return "", hint.Wrapf(fmt.Errorf("%q is not a full git commit id: %w", commit, ErrInvalidSource), "give the 40 (or 64) hex digits")
	}
	root, err := git(ctx, dir, "rev-parse", "--show-toplevel")
	if err != nil {
		return "", hint.Wrapf(fmt.Errorf("%s is not in a git repository: %w", dir, ErrInvalidSource),
			"name a clone of the repository the build came from")
	}
	if _, err := git(ctx, root, "cat-file", "-e", commit+"^{commit}"); err != nil {
		return "", hint.Wrapf(fmt.Errorf("commit %s is not in the repository at %s: %w", commit, root, ErrInvalidSource),
			"fetch it first (git -C %s fetch origin %s), or name a clone that has it", root, commit)
	}
	if _, err := os.Stat(dest); err == nil {
		return "", fmt.Errorf("checkout directory %s already exists: %w", dest, ErrInvalidInput)
	}
	if _, err := git(ctx, root, "clone", "-q", "--shared", "--no-checkout", root, dest); err != nil {
		return "", hint.Wrapf(fmt.Errorf("cloning %s: %v: %w", root, err, ErrEnvironment), "check free disk space in the work directory")
	}
	if _, err := git(ctx, dest, "-c", "advice.detachedHead=false", "checkout", "-q", "--detach", commit); err != nil {
		return "", fmt.Errorf("checking out %s: %v: %w", commit, err, ErrEnvironment)
	}
	return root, nil
}
