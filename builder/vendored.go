package builder

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/slsabox/slsabox/internal/hint"
)

// Bounds of the search for vendored modules in the exported source.
const (
	maxVendorWalk      = 2_000_000 // directory entries looked at
	maxModulesTxtSize  = 16 << 20  // one vendor/modules.txt
	maxVendoredModules = 100_000
)

// vendoredModules lists the modules vendored in the exported source at srcDir: those
// that give packages to the build in the vendor/modules.txt beside some go.mod (go mod
// vendor) or go.work (go work vendor). It
// runs before any step, so a step cannot add to what counts as vendored (the steps may
// write to /src). Directories the go command ignores (".x", "_x", testdata) and
// vendor directories themselves are not searched. Sorted by path and version, no
// duplicates.
func vendoredModules(srcDir string) ([]GoModule, error) {
	root, err := os.OpenRoot(srcDir)
	if err != nil {
		return nil, fmt.Errorf("%w: reading the source: %w", ErrEnvironment, err)
	}
	defer root.Close()
	var (
		out  []GoModule
		seen = map[string]bool{}
		n    int
	)
	err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if n++; n > maxVendorWalk {
			return hint.Wrapf(fmt.Errorf("%w: the source holds more than %d files and directories, too many to search for vendor/modules.txt", ErrInvalidSource, maxVendorWalk),
				"build from a smaller directory of the repository")
		}
		if !d.IsDir() {
			return nil
		}
		if p != "." {
			name := d.Name()
			if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "vendor" {
				return fs.SkipDir
			}
		}
		// go mod vendor writes vendor/ beside a go.mod, go work vendor beside a go.work.
		isRoot := false
		for _, f := range []string{"go.mod", "go.work"} {
			if fi, err := root.Lstat(path.Join(p, f)); err == nil && fi.Mode().IsRegular() {
				isRoot = true
			}
		}
		if !isRoot {
			return nil
		}
		rel := path.Join(p, "vendor", "modules.txt")
		data, err := readSourceFile(srcDir, rel, maxModulesTxtSize)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return sourceFileErr("vendored modules", rel, err, "commit vendor/modules.txt as go mod vendor writes it")
		}
		for _, m := range parseModulesTxt(data) {
			if k := m.String(); !seen[k] {
				seen[k] = true
				out = append(out, m)
			}
		}
		if len(out) > maxVendoredModules {
			return fmt.Errorf("%w: more than %d vendored modules", ErrInvalidSource, maxVendoredModules)
		}
		return nil
	})
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%w: searching the source for vendor/modules.txt: %w", ErrEnvironment, err)
		}
		return nil, err
	}
	slices.SortFunc(out, func(a, b GoModule) int { return strings.Compare(a.String(), b.String()) })
	return out, nil
}

// parseModulesTxt returns the modules of a vendor/modules.txt that provide at least
// one package, as the go command reads the file (cmd/go/internal/modload, vendor.go):
//
//	# PATH VERSION                      a module
//	# PATH VERSION => NEWPATH NEWVERSION  replaced by another module version
//	# PATH VERSION => ./dir              replaced by a directory (then part of the source)
//	# PATH => REPLACEMENT                a wildcard replacement (no packages of its own)
//	## explicit; go 1.21                 annotations
//	IMPORT/PATH                          a package of the module above
//
// Lines it does not understand are ignored, as the go command ignores them. Each
// module is returned as linked: the replacement when there is one.
func parseModulesTxt(data []byte) []GoModule {
	var (
		out     []GoModule
		cur     *GoModule
		counted bool
	)
	for line := range strings.SplitSeq(string(data), "\n") {
		if strings.HasPrefix(line, "# ") {
			cur, counted = nil, false
			f := strings.Fields(line)
			if len(f) < 3 || !semver.IsValid(f[2]) {
				continue // a wildcard replacement or a line of a later format
			}
			m := GoModule{Path: f[1], Version: f[2]}
			if f = f[3:]; len(f) >= 2 && f[0] == "=>" {
				switch {
				case len(f) == 2:
					m = GoModule{Path: m.Path, Version: m.Version, Replaces: m.Path + "@" + m.Version, Dir: f[1]}
				case len(f) == 3 && semver.IsValid(f[2]):
					m = GoModule{Path: f[1], Version: f[2], Replaces: m.Path + "@" + m.Version}
				default:
					continue
				}
			}
			cur = &m
			continue
		}
		if cur == nil || counted || strings.HasPrefix(line, "## ") {
			continue
		}
		if f := strings.Fields(line); len(f) == 1 && module.CheckImportPath(f[0]) == nil {
			out = append(out, *cur)
			counted = true
		}
	}
	return out
}
