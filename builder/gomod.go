package builder

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/slsabox/slsabox/internal/hint"
	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
	modzip "golang.org/x/mod/zip"
)

// The host cache of Go modules (CACHE/gomod) has the layout of a GOMODCACHE, filled
// only by slsabox and only with files whose hash matched a go.sum:
//
//	cache/download/<escaped path>/@v/<escaped version>.mod       a go.mod (mode 0444)
//	cache/download/<escaped path>/@v/<escaped version>.ziphash   the zip's h1: hash
//	<escaped path>@<escaped version>/                           the extracted zip (read-only)
//
// Each build gets a view of exactly the modules its go.sum lists (hard links into the
// cache, copies across file systems) that is hashed again before any step runs, so a
// module changed in the cache after it was fetched is caught, and mounted read-only as
// the steps' GOMODCACHE.

// goModMount is where the view is mounted in the steps, as GOMODCACHE.
const goModMount = "/inputs/gomod"

// fetchParallel bounds concurrent downloads and hashing.
const fetchParallel = 8

func modPaths(m module.Version) (escPath, escVer string, err error) {
	if escPath, err = module.EscapePath(m.Path); err != nil {
		return "", "", err
	}
	escVer, err = module.EscapeVersion(m.Version)
	return escPath, escVer, err
}

// modFile is the go.mod's path in a GOMODCACHE layout rooted at root.
func modFile(root string, m module.Version) string {
	p, v, _ := modPaths(m)
	return filepath.Join(root, "cache", "download", filepath.FromSlash(p), "@v", v+".mod")
}

// zipHashFile is the .ziphash file's path.
func zipHashFile(root string, m module.Version) string {
	p, v, _ := modPaths(m)
	return filepath.Join(root, "cache", "download", filepath.FromSlash(p), "@v", v+".ziphash")
}

// modDir is the extracted module's directory.
func modDir(root string, m module.Version) string {
	p, v, _ := modPaths(m)
	return filepath.Join(root, filepath.FromSlash(p)+"@"+v)
}

// goModSum is the h1: hash go.sum records for a go.mod file.
func goModSum(data []byte) (string, error) {
	return dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
}

// ensureModule puts the module file that e pins into the cache at root, fetching it
// through the proxy and checking it against e.Hash first. It reports whether it fetched.
func ensureModule(ctx context.Context, proxy *goProxy, root string, e goSumEntry) (bool, error) {
	if e.GoMod {
		dst := modFile(root, e.Mod)
		if _, err := os.Stat(dst); err == nil {
			return false, nil
		}
		body, from, err := proxy.open(ctx, e.Mod, "mod")
		if err != nil {
			return false, fetchErr(e, err)
		}
		data, err := io.ReadAll(io.LimitReader(body, 16<<20))
		body.Close()
		if err != nil {
			return false, fetchErr(e, fmt.Errorf("%w: reading %s: %w", ErrEnvironment, from, err))
		}
		if h, err := goModSum(data); err != nil || h != e.Hash {
			return false, hint.Wrapf(fmt.Errorf("%w: %s from %s has hash %s, go.sum says %s", ErrInputDigest, e.key(), from, h, e.Hash),
				"the proxy serves a different go.mod than the one go.sum pins: check GOPROXY, or regenerate go.sum with go mod tidy if it is wrong")
		}
		return true, writeOnce(dst, data, 0o444)
	}

	dst := modDir(root, e.Mod)
	if _, err := os.Stat(dst); err == nil {
		return false, nil
	}
	body, from, err := proxy.open(ctx, e.Mod, "zip")
	if err != nil {
		return false, fetchErr(e, err)
	}
	defer body.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return false, fmt.Errorf("%w: module cache: %w", ErrEnvironment, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".tmp-*.zip")
	if err != nil {
		return false, fmt.Errorf("%w: module cache: %w", ErrEnvironment, err)
	}
	defer os.Remove(tmp.Name())
	_, err = io.Copy(tmp, io.LimitReader(body, modzip.MaxZipFile+1))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, fetchErr(e, fmt.Errorf("%w: downloading %s: %w", ErrEnvironment, from, err))
	}
	h, err := dirhash.HashZip(tmp.Name(), dirhash.Hash1)
	if err != nil || h != e.Hash {
		if err != nil {
			h = "unreadable (" + err.Error() + ")"
		}
		return false, hint.Wrapf(fmt.Errorf("%w: %s from %s has hash %s, go.sum says %s", ErrInputDigest, e.key(), from, h, e.Hash),
			"the proxy serves a different module than the one go.sum pins: check GOPROXY, or regenerate go.sum with go mod tidy if it is wrong")
	}
	ext, err := os.MkdirTemp(filepath.Dir(dst), ".tmp-*")
	if err != nil {
		return false, fmt.Errorf("%w: module cache: %w", ErrEnvironment, err)
	}
	defer removeReadOnly(ext) //nolint:errcheck // a leftover temporary directory is harmless
	if err := modzip.Unzip(ext, e.Mod, tmp.Name()); err != nil {
		return false, hint.Wrapf(fmt.Errorf("%w: extracting %s: %w", ErrInputDigest, e.key(), err), "the module zip is not valid")
	}
	if err := makeReadOnly(ext); err != nil {
		return false, fmt.Errorf("%w: module cache: %w", ErrEnvironment, err)
	}
	if err := writeOnce(zipHashFile(root, e.Mod), []byte(e.Hash+"\n"), 0o444); err != nil {
		return false, err
	}
	// Another build may have extracted the same module meanwhile: either copy is good.
	if err := os.Rename(ext, dst); err != nil {
		if _, serr := os.Stat(dst); serr != nil {
			return false, fmt.Errorf("%w: module cache: %w", ErrEnvironment, err)
		}
	}
	return true, nil
}

func fetchErr(e goSumEntry, err error) error {
	if errors.Is(err, errNotOnProxy) {
		return hint.Wrapf(fmt.Errorf("%w: fetching %s: %w", ErrEnvironment, e.key(), err),
			"check that GOPROXY (--goproxy) serves the module and that the proxy is reachable")
	}
	if errors.Is(err, ErrEnvironment) || errors.Is(err, ErrInputDigest) {
		// Classed already: the class stays first, the module is added at the end.
		return fmt.Errorf("%w (fetching %s)", err, e.key())
	}
	return hint.Wrapf(fmt.Errorf("%w: fetching %s: %w", ErrEnvironment, e.key(), err), "check GOPROXY (--goproxy) and the network")
}

// linkModule adds the module file e pins to the view at view, from the cache at
// root, and checks the view's copy against e.Hash: what the steps will see is what
// go.sum says, whatever happened to the cache.
func linkModule(root, view string, e goSumEntry) error {
	tampered := func(got string) error {
		what := modFile(root, e.Mod)
		if !e.GoMod {
			what = modDir(root, e.Mod)
		}
		return hint.Wrapf(fmt.Errorf("%w: %s in the module cache %s has hash %s, go.sum says %s", ErrInputDigest, e.key(), what, got, e.Hash),
			"the host's module cache was changed after slsabox fetched it: remove that entry (rm -rf %s) and build again to fetch it anew", what)
	}
	if e.GoMod {
		src, dst := modFile(root, e.Mod), modFile(view, e.Mod)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("%w: module view: %w", ErrEnvironment, err)
		}
		if err := linkOrCopy(src, dst); err != nil {
			return fmt.Errorf("%w: module view: %w", ErrEnvironment, err)
		}
		data, err := os.ReadFile(dst)
		if err != nil {
			return fmt.Errorf("%w: module view: %w", ErrEnvironment, err)
		}
		if h, _ := goModSum(data); h != e.Hash {
			return tampered(h)
		}
		return nil
	}
	src, dst := modDir(root, e.Mod), modDir(view, e.Mod)
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(out, 0o755)
		case d.Type().IsRegular():
			return linkOrCopy(p, out)
		default:
			return errNotRegular
		}
	})
	if errors.Is(err, errNotRegular) {
		return tampered("unknown (it holds a file that is not a regular file)")
	}
	if err != nil {
		return fmt.Errorf("%w: module view: %w", ErrEnvironment, err)
	}
	h, err := dirhash.HashDir(dst, e.Mod.Path+"@"+e.Mod.Version, dirhash.Hash1)
	if err != nil {
		return fmt.Errorf("%w: module view: %w", ErrEnvironment, err)
	}
	if h != e.Hash {
		return tampered(h)
	}
	// The go command checks the .ziphash against go.sum before it uses the directory.
	zh := zipHashFile(view, e.Mod)
	if err := os.MkdirAll(filepath.Dir(zh), 0o755); err != nil {
		return fmt.Errorf("%w: module view: %w", ErrEnvironment, err)
	}
	return os.WriteFile(zh, []byte(e.Hash+"\n"), 0o444)
}

// goModules prepares every module the go.sum files list: fetched into the cache at
// root when missing, then linked into view and verified. It returns the resolved
// dependencies, sorted by module path and version.
func goModules(ctx context.Context, proxy *goProxy, root, view string, entries []goSumEntry, progress func(string, ...any)) ([]ResolvedInput, error) {
	var (
		mu      sync.Mutex
		fetched int
		errs    = make([]error, len(entries))
		wg      sync.WaitGroup
		sem     = make(chan struct{}, fetchParallel)
	)
	for i, e := range entries {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			got, err := ensureModule(ctx, proxy, root, e)
			if err == nil {
				err = linkModule(root, view, e)
			}
			errs[i] = err
			if got {
				mu.Lock()
				fetched++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	// go list -m and other module queries read a version's .info, which go.sum does not
	// pin: each gets the same fixed one, in the form the go command itself writes.
	infos := map[module.Version]bool{}
	for _, e := range entries {
		if !infos[e.Mod] {
			infos[e.Mod] = true
			info := modFile(view, e.Mod)
			info = strings.TrimSuffix(info, ".mod") + ".info"
			data := fmt.Sprintf(`{"Version":%q,"Time":"0001-01-01T00:00:00Z"}`, e.Mod.Version)
			if err := os.MkdirAll(filepath.Dir(info), 0o755); err != nil {
				return nil, fmt.Errorf("%w: module view: %w", ErrEnvironment, err)
			}
			if err := os.WriteFile(info, []byte(data), 0o444); err != nil {
				return nil, fmt.Errorf("%w: module view: %w", ErrEnvironment, err)
			}
		}
	}
	if fetched > 0 {
		progress("fetched %d Go module files through GOPROXY %s", fetched, proxy.raw)
	}
	out := make([]ResolvedInput, 0, len(entries))
	for _, e := range entries {
		out = append(out, goModuleInput(e))
	}
	slices.SortFunc(out, func(a, b ResolvedInput) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// goModuleInput records a go.sum line as a resolved dependency: the module as a
// package URL (with the #go.mod subpath for a go.mod hash) and the hash as in-toto's
// dirHash (the h1: hash's SHA-256 in hex), the go.sum form kept beside it.
func goModuleInput(e goSumEntry) ResolvedInput {
	uri := "pkg:golang/" + e.Mod.Path + "@" + e.Mod.Version
	name := e.Mod.Path + "@" + e.Mod.Version
	if e.GoMod {
		uri += "#go.mod"
		name += "/go.mod"
	}
	return ResolvedInput{Name: name, URI: uri, Digest: map[string]string{"dirHash": h1Hex(e.Hash)}, GoSum: e.Hash, Path: goModMount}
}

// goModEnv is what a step needs to build from the read-only module cache and nothing
// else: no proxy, no checksum database, go.mod and go.sum used as they are.
func goModEnv(env []string) []string {
	set := func(name, value string) { env = setEnv(env, name, value) }
	set("GOMODCACHE", goModMount)
	set("GOPROXY", "off")
	set("GOSUMDB", "off")
	if !slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, "GOTOOLCHAIN=") }) {
		// A go.mod asking for a newer Go would otherwise try to download a toolchain.
		env = append(env, "GOTOOLCHAIN=local")
	}
	flags := ""
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "GOFLAGS="); ok {
			flags = v
		}
	}
	var kept []string
	for _, f := range strings.Fields(flags) {
		if !strings.HasPrefix(f, "-mod=") {
			kept = append(kept, f)
		}
	}
	set("GOFLAGS", strings.Join(append(kept, "-mod=readonly"), " "))
	return env
}

// readGoSums reads the go.sum (and the go.mod beside it) of every gomod input from the
// exported source, and checks that go.sum pins every module go.mod requires.
func readGoSums(srcDir string, ins []Input) ([]goSumEntry, error) {
	var all []goSumEntry
	seen := map[string]string{}
	for _, in := range ins {
		if in.GoMod == "" {
			continue
		}
		rel := path.Clean(in.GoMod)
		data, err := readSourceFile(srcDir, rel, maxGoSumSize)
		if err != nil {
			return nil, sourceFileErr("gomod input", rel, err, "commit the go.sum that gomod: names (go mod tidy writes it)")
		}
		entries, err := parseGoSum(rel, data)
		if err != nil {
			return nil, err
		}
		modRel := path.Join(path.Dir(rel), "go.mod")
		goMod, err := readSourceFile(srcDir, modRel, maxGoModSize)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, hint.Wrapf(fmt.Errorf("%w: gomod input %s: no %s beside it", ErrInvalidSource, rel, modRel),
				"gomod: names the go.sum next to the module's go.mod")
		}
		if err != nil {
			return nil, sourceFileErr("gomod input "+rel+": its", modRel, err, "commit go.mod itself, a regular file, beside go.sum")
		}
		missing, err := missingSums(modRel, goMod, entries)
		if err != nil {
			return nil, err
		}
		if len(missing) > 0 {
			return nil, hint.Wrapf(fmt.Errorf("%w: %s requires %s, which %s does not pin", ErrInvalidSource, modRel, strings.Join(missing, ", "), rel),
				"run go mod tidy (or go mod download %s) on the host and commit go.sum: slsabox fetches only what go.sum pins", strings.Join(missing, " "))
		}
		for _, e := range entries {
			if h, ok := seen[e.key()]; ok {
				if h != e.Hash {
					return nil, hint.Wrapf(fmt.Errorf("%w: %s has hash %s in %s and %s in another gomod input", ErrInvalidSource, e.key(), e.Hash, rel, h),
						"regenerate the go.sum files with go mod tidy")
				}
				continue
			}
			seen[e.key()] = e.Hash
			all = append(all, e)
		}
	}
	return all, nil
}
