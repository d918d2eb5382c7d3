package builder

import (
	"context"
	"fmt"
	"os"

	"github.com/slsabox/slsabox/internal/hint"
)

var commitRE = lazyRegexp(`^[0-9a-f]{40}([0-9a-f]{24})?$`)

// CheckoutCommit makes dest (which must not exist) a work tree of the commit, taken
// from the git repository that holds dir, and returns that repository's root. The
// clone shares the repository's objects and leaves the repository itself untouched:
// no new worktree, ref or config. slsabox rebuild builds from it.
func CheckoutCommit(ctx context.Context, dir, commit, dest string) (string, error) {
	if !commitRE().MatchString(commit) {
		return "", hint.Wrapf(fmt.Errorf("%w: %q is not a full git commit id", ErrInvalidSource, commit), "give the 40 (or 64) hex digits")
	}
	root, err := git(ctx, dir, "rev-parse", "--show-toplevel")
	if err != nil {
		return "", hint.Wrapf(fmt.Errorf("%w: %s is not in a git repository", ErrInvalidSource, dir),
			"name a clone of the repository the build came from")
	}
	if _, err := git(ctx, root, "cat-file", "-e", commit+"^{commit}"); err != nil {
		return "", hint.Wrapf(fmt.Errorf("%w: commit %s is not in the repository at %s", ErrInvalidSource, commit, root),
			"fetch it first (git -C %s fetch origin %s), or name a clone that has it", root, commit)
	}
	if _, err := os.Stat(dest); err == nil {
		return "", fmt.Errorf("%w: checkout directory %s already exists", ErrInvalidInput, dest)
	}
	if _, err := git(ctx, root, "clone", "-q", "--shared", "--no-checkout", root, dest); err != nil {
		return "", hint.Wrapf(fmt.Errorf("%w: cloning %s: %w", ErrEnvironment, root, err), "check free disk space in the work directory")
	}
	if _, err := git(ctx, dest, "-c", "advice.detachedHead=false", "checkout", "-q", "--detach", commit); err != nil {
		return "", fmt.Errorf("%w: checking out %s: %w", ErrEnvironment, commit, err)
	}
	return root, nil
}
