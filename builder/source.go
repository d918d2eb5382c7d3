package builder

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slsabox/slsabox/internal/hint"
)

// Source describes the exported source tree that the steps see at /src.
type Source struct {
	RepoRoot   string    `json:"repoRoot"`   // absolute path of the git work tree
	Subdir     string    `json:"subdir"`     // directory of the build inside the repository ("" for the root, else "examples/hello-go")
	Commit     string    `json:"commit"`     // HEAD commit
	Tree       string    `json:"tree"`       // git tree hash of Subdir at HEAD
	Ref        string    `json:"ref"`        // symbolic ref of HEAD ("refs/heads/main"), empty when detached
	RemoteURL  string    `json:"remoteUrl"`  // remote.origin.url, empty when there is none
	CommitTime time.Time `json:"commitTime"` // committer time of HEAD, the SOURCE_DATE_EPOCH
	Dirty      bool      `json:"dirty"`      // exported from the work tree with AllowDirtyTree
}

func git(ctx context.Context, dir string, args ...string) (string, error) {
	out, err := gitRaw(ctx, dir, args...)
	return strings.TrimSpace(out), err
}

// gitRaw runs git in dir and returns its standard output untrimmed.
func gitRaw(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return "", fmt.Errorf("git %s: %s", strings.Join(args, " "), msg)
	}
	return string(out), nil
}

// inspectSource reads what the provenance needs about the work tree at dir and
// says whether it has changes that are not committed. Untracked paths at or under
// ignore (slsabox's own output directory, when it lies inside the tree) do not count.
//
// One git process names the work tree, commit and tree; the commit time, the remote,
// the status and (when dest is set) the archive of that exact tree then run side by
// side. A clean tree is then already exported into dest.
func inspectSource(ctx context.Context, dir, ignore, dest string) (*Source, []string, error) {
	if _, err := exec.LookPath("git"); err != nil {
		return nil, nil, hint.Wrapf(fmt.Errorf("%w: git is not installed", ErrEnvironment), "install git (apt-get install git)")
	}
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return nil, nil, hint.Wrapf(fmt.Errorf("%w: source directory %q does not exist", ErrInvalidSource, dir), "name the directory that holds slsabox.yaml")
	}
	// HEAD:./ is the tree of dir itself; --symbolic-full-name HEAD prints the branch,
	// or "HEAD" when detached.
	out, err := gitRaw(ctx, dir, "rev-parse", "--show-toplevel", "--show-prefix", "HEAD^{commit}", "HEAD:./", "--symbolic-full-name", "HEAD")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if err != nil || len(lines) != 5 {
		return nil, nil, diagnoseSource(ctx, dir, err)
	}
	s := &Source{RepoRoot: lines[0], Subdir: strings.TrimSuffix(lines[1], "/"), Commit: lines[2], Tree: lines[3]}
	if lines[4] != "HEAD" {
		s.Ref = lines[4]
	}

	var (
		wg               sync.WaitGroup
		ct, status       string
		ctErr, statusErr error
		archiveErr       error
	)
	wg.Add(3)
	go func() { defer wg.Done(); ct, ctErr = git(ctx, s.RepoRoot, "show", "-s", "--format=%ct", s.Commit) }()
	go func() { defer wg.Done(); s.RemoteURL, _ = git(ctx, s.RepoRoot, "config", "--get", "remote.origin.url") }()
	go func() {
		defer wg.Done()
		status, statusErr = git(ctx, dir, "status", "--porcelain=v1", "--untracked-files=normal", "--ignore-submodules=none", "--", ".")
	}()
	if dest != "" {
		archiveErr = archiveTree(ctx, s.RepoRoot, s.Tree, dest)
	}
	wg.Wait()
	if ctErr != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidSource, ctErr)
	}
	secs, _ := strconv.ParseInt(ct, 10, 64)
	s.CommitTime = time.Unix(secs, 0).UTC()
	if statusErr != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidSource, statusErr)
	}
	if archiveErr != nil {
		return nil, nil, archiveErr
	}
	skip := ""
	if ignore != "" {
		if rel, err := filepath.Rel(s.RepoRoot, ignore); err == nil && !strings.HasPrefix(rel, "..") && rel != "." {
			skip = filepath.ToSlash(rel)
		}
	}
	var changed []string
	for _, l := range strings.Split(status, "\n") {
		if strings.TrimSpace(l) == "" {
			continue
		}
		if p := strings.Trim(l[min(3, len(l)):], `"`); skip != "" && strings.HasPrefix(l, "??") && isOutputPath(p, skip) {
			continue
		}
		changed = append(changed, strings.TrimSpace(l))
	}
	return s, changed, nil
}

// diagnoseSource says why dir has no committed tree to export, asking git one
// question at a time (only on this failure path).
func diagnoseSource(ctx context.Context, dir string, err error) error {
	root, rerr := git(ctx, dir, "rev-parse", "--show-toplevel")
	if rerr != nil {
		return hint.Wrapf(fmt.Errorf("%w: %s is not in a git work tree", ErrInvalidSource, dir),
			"slsabox builds committed source: run git init && git add -A && git commit in the project first")
	}
	if _, rerr := git(ctx, dir, "rev-parse", "--verify", "HEAD^{commit}"); rerr != nil {
		return hint.Wrapf(fmt.Errorf("%w: the repository at %s has no commit", ErrInvalidSource, root), "commit the source first")
	}
	if _, rerr := git(ctx, dir, "rev-parse", "HEAD:./"); rerr != nil {
		return hint.Wrapf(fmt.Errorf("%w: %s is not committed at HEAD", ErrInvalidSource, dir), "git add and commit the directory first")
	}
	if err == nil {
		err = errors.New("unexpected output")
	}
	return fmt.Errorf("%w: reading the source's commit: %w", ErrInvalidSource, err)
}

// archiveTree writes the git tree (a hash) of the repository at root into dest.
func archiveTree(ctx context.Context, root, tree, dest string) error {
	cmd := exec.CommandContext(ctx, "git", "-C", root, "archive", "--format=tar", tree)
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("%w: git archive: %w", ErrEnvironment, err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%w: git archive: %w", ErrEnvironment, err)
	}
	xerr := extractTar(out, dest)
	_, _ = io.Copy(io.Discard, out)
	werr := cmd.Wait()
	if xerr != nil {
		return xerr
	}
	if werr != nil {
		return fmt.Errorf("%w: git archive: %s", ErrInvalidSource, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// isOutputPath reports whether p (repository-relative) is the output directory out or
// one of the files slsabox keeps beside it (OUT.failed.log, OUT.tmp-*).
func isOutputPath(p, out string) bool {
	p = strings.TrimSuffix(p, "/")
	return p == out || strings.HasPrefix(p, out+"/") || strings.HasPrefix(p, out+".")
}

// exportSource copies the committed tree of dir (or, when allowDirty is set and the tree
// has changes, the work tree's tracked and untracked-but-not-ignored files) into dest,
// which must be an empty directory. The user's repository is never mounted into a step.
// outDir, when not "", is slsabox's own output directory: untracked files at or
// under it neither make the tree dirty nor get copied.
func exportSource(ctx context.Context, dir, dest string, allowDirty bool, outDir string) (*Source, error) {
	s, changed, err := inspectSource(ctx, dir, outDir, dest)
	if err != nil {
		return nil, err
	}
	if len(changed) > 0 && !allowDirty {
		shown := changed
		if len(shown) > 5 {
			shown = append(shown[:5:5], fmt.Sprintf("... and %d more", len(changed)-5))
		}
		return nil, hint.Wrapf(fmt.Errorf("%w in %s: %s", ErrDirtyTree, dir, strings.Join(shown, "; ")),
			"commit or stash the changes (the provenance names a commit), or pass --allow-dirty, which is recorded in the provenance")
	}
	if len(changed) > 0 {
		// The committed tree went to dest beside the status; the work tree replaces it.
		s.Dirty = true
		if err := emptyDir(dest); err != nil {
			return nil, fmt.Errorf("%w: exporting source: %w", ErrEnvironment, err)
		}
		return s, copyWorkTree(ctx, dir, dest, outDir)
	}
	return s, nil
}

// emptyDir removes everything inside dir.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// extractTar writes a git archive into dest without ever following a link it wrote.
func extractTar(r io.Reader, dest string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: reading exported source: %w", ErrInvalidSource, err)
		}
		if h.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		target, err := safeJoin(dest, h.Name)
		if err != nil {
			return err
		}
		mode := os.FileMode(h.Mode).Perm() & 0o755
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return fmt.Errorf("%w: exporting source: %w", ErrEnvironment, err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return fmt.Errorf("%w: exporting source: %w", ErrEnvironment, err)
			}
			f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode|0o644)
			if err != nil {
				return fmt.Errorf("%w: exporting source: %w", ErrEnvironment, err)
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("%w: exporting source: %w", ErrEnvironment, err)
			}
		case tar.TypeSymlink:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return fmt.Errorf("%w: exporting source: %w", ErrEnvironment, err)
			}
			if err := os.Symlink(h.Linkname, target); err != nil {
				return fmt.Errorf("%w: exporting source: %w", ErrEnvironment, err)
			}
		default:
			// git archive writes only directories, files and symlinks; submodules are skipped.
		}
	}
}

// safeJoin joins name under dest and refuses any path that would leave dest or pass
// through a symlink already written there.
func safeJoin(dest, name string) (string, error) {
	clean := filepath.Clean("/" + name)
	if clean == "/" {
		return dest, nil
	}
	target := filepath.Join(dest, clean)
	rel, err := filepath.Rel(dest, target)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("%w: source path %q escapes the export directory", ErrInvalidSource, name)
	}
	// Every existing ancestor must be a real directory.
	for p := filepath.Dir(target); p != dest && len(p) > len(dest); p = filepath.Dir(p) {
		fi, err := os.Lstat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("%w: exporting source: %w", ErrEnvironment, err)
		}
		if !fi.IsDir() {
			return "", fmt.Errorf("%w: source path %q passes through a symlink or file", ErrInvalidSource, name)
		}
	}
	return target, nil
}

// copyWorkTree exports tracked and untracked (not ignored) files as they are on disk.
func copyWorkTree(ctx context.Context, dir, dest, outDir string) error {
	list, err := git(ctx, dir, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", ".")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidSource, err)
	}
	for _, name := range strings.Split(list, "\x00") {
		if name == "" {
			continue
		}
		src := filepath.Join(dir, name)
		if abs, err := filepath.Abs(src); err == nil && outDir != "" && isOutputPath(abs, outDir) {
			continue
		}
		fi, err := os.Lstat(src)
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted in the work tree
		}
		if err != nil {
			return fmt.Errorf("%w: exporting %s: %w", ErrEnvironment, name, err)
		}
		target, err := safeJoin(dest, name)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return fmt.Errorf("%w: exporting source: %w", ErrEnvironment, err)
		}
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			link, err := os.Readlink(src)
			if err == nil {
				err = os.Symlink(link, target)
			}
			if err != nil {
				return fmt.Errorf("%w: exporting %s: %w", ErrEnvironment, name, err)
			}
		case fi.Mode().IsRegular():
			if err := copyFile(src, target, fi.Mode().Perm()&0o755|0o644); err != nil {
				return fmt.Errorf("%w: exporting %s: %w", ErrEnvironment, name, err)
			}
		}
	}
	return nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// prepareTree gives the sandbox user the exported tree, so that builds that write next
// to their sources (make, autotools) work, and sets every time to the commit time, so
// that what a build stamps from file times does not depend on when it ran. The copy is
// thrown away after the build.
func prepareTree(root string, uid, gid int, mtime time.Time) error {
	return filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(p, uid, gid); err != nil {
			return err
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			return nil
		}
		return os.Chtimes(p, mtime, mtime)
	})
}
