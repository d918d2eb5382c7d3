package builder

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// LoadDefinition reads and validates the build definition of the source directory
// dir: file, or dir/slsabox.yaml when file is "". A file inside dir is part of the
// source and is opened inside dir, so that a committed symlink cannot make slsabox
// read a host file; one outside dir is the user's own. Either must be a regular file
// of at most maxDefinitionSize bytes.
func LoadDefinition(dir, file string) (*Definition, error) {
	if file == "" {
		file = filepath.Join(dir, "slsabox.yaml")
	}
	var (
		data []byte
		err  error
	)
	if rel, inside := relInside(dir, file); inside {
		data, err = readSourceFile(dir, rel, maxDefinitionSize)
	} else if top, rel, inRepo := inRepository(dir, file); inRepo {
		// Elsewhere in the same repository (-f ci/slsabox.yaml for the source app/): still
		// the commit's, so still opened inside it.
		data, err = readSourceFile(top, rel, maxDefinitionSize)
	} else {
		data, err = readUserFile(file, maxDefinitionSize)
	}
	if err != nil {
		switch {
		case errors.Is(err, os.ErrNotExist):
			return nil, &definitionError{file: file, msg: "no build definition found",
				fix: "create slsabox.yaml in the source directory (see docs/config.md) or point at one with -f FILE"}
		case errors.Is(err, errLeavesRoot), errors.Is(err, errNotRegular), errors.Is(err, errTooLarge):
			return nil, &definitionError{file: file, msg: "the build definition " + strings.TrimPrefix(err.Error(), rel(dir, file)+" "),
				fix: fmt.Sprintf("commit slsabox.yaml itself, a regular file of at most %s, not a symlink to something outside the source", formatSize(maxDefinitionSize))}
		}
		return nil, &definitionError{file: file, msg: err.Error(), fix: "check the file's permissions"}
	}
	return ParseDefinition(file, data)
}

func rel(dir, file string) string {
	if r, ok := relInside(dir, file); ok {
		return r
	}
	return file
}

// relInside says whether file lies inside dir (both taken from the current
// directory) and gives its path relative to dir.
func relInside(dir, file string) (string, bool) {
	ad, err1 := filepath.Abs(dir)
	af, err2 := filepath.Abs(file)
	if err1 != nil || err2 != nil {
		return "", false
	}
	r, err := filepath.Rel(ad, af)
	if err != nil || r == "." || r == ".." || strings.HasPrefix(r, "../") {
		return "", false
	}
	return r, true
}

// inRepository says whether file lies in the git work tree that holds dir (the
// nearest directory above dir with a .git entry), and gives that top directory and
// file's path inside it. Both paths are compared with their directories' symlinks
// resolved, so that another spelling of the same place counts as inside.
func inRepository(dir, file string) (string, string, bool) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", "", false
	}
	if r, err := filepath.EvalSymlinks(d); err == nil {
		d = r
	}
	af, err := filepath.Abs(file)
	if err != nil {
		return "", "", false
	}
	if r, err := filepath.EvalSymlinks(filepath.Dir(af)); err == nil {
		af = filepath.Join(r, filepath.Base(af))
	}
	for top := d; ; top = filepath.Dir(top) {
		if _, err := os.Lstat(filepath.Join(top, ".git")); err == nil {
			rel, inside := relInside(top, af)
			return top, rel, inside
		}
		if filepath.Dir(top) == top {
			return "", "", false
		}
	}
}
