package builder

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/slsabox/slsabox/internal/filehash"
	"github.com/slsabox/slsabox/internal/hint"
)

// ResolvedInput is one declared input as fetched and checked: a file from url+sha256,
// or a Go module file pinned by a go.sum. The provenance lists each as a resolved
// dependency.
type ResolvedInput struct {
	Name   string            `json:"name"`            // file name under /inputs, or PATH@VERSION[/go.mod]
	URI    string            `json:"uri"`             // the URL, or pkg:golang/PATH@VERSION[#go.mod]
	Digest map[string]string `json:"digest"`          // {"sha256": hex} or {"dirHash": hex}
	GoSum  string            `json:"goSum,omitempty"` // the go.sum hash (h1:...) of a Go module
	Path   string            `json:"path"`            // where the steps see it
}

// WithCacheDir sets where declared inputs are cached by digest between builds
// (default $SLSABOX_CACHE_DIR, else ~/.cache/slsabox/inputs). Builds running at once
// may share it.
func WithCacheDir(dir string) Option {
	return func(c *config) error {
		if dir == "" {
			return fmt.Errorf("%w: empty cache directory", ErrInvalidInput)
		}
		c.cacheDir = dir
		return nil
	}
}

// WithGoProxy sets the GOPROXY list gomod inputs are fetched through (default the
// host's: $GOPROXY, else go env GOPROXY).
func WithGoProxy(list string) Option {
	return func(c *config) error {
		if _, err := parseGoProxy(list); err != nil {
			return err
		}
		c.goProxy = list
		return nil
	}
}

// defaultCacheDir is $SLSABOX_CACHE_DIR, else the user's cache directory's
// slsabox/inputs (~/.cache/slsabox/inputs).
func defaultCacheDir() string {
	if d := os.Getenv("SLSABOX_CACHE_DIR"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "slsabox", "inputs")
	}
	return filepath.Join(os.TempDir(), "slsabox-inputs")
}

// inputsPlan is what prepareInputs made for the steps.
type inputsPlan struct {
	dir      string // host directory mounted read-only at /inputs; "" without inputs
	goMod    bool   // the steps get the Go module environment
	resolved []ResolvedInput
}

// env adds what the inputs need to a step's environment.
func (p *inputsPlan) env(env []string) []string {
	if p.goMod {
		return goModEnv(env)
	}
	return env
}

// PrepareInputs does for def what a build does before its first step, without
// containerd: it fetches (or finds in the cache) every declared input, checks it, and
// lays the inputs out in dir (which must not exist) as the steps would see them at
// /inputs. srcDir holds the source (the go.sum files of gomod inputs). Options other
// than WithCacheDir, WithGoProxy and WithProgress have no effect.
func PrepareInputs(ctx context.Context, def *Definition, srcDir, dir string, opts ...Option) ([]ResolvedInput, error) {
	b := &Builder{cfg: config{cacheDir: defaultCacheDir(), progress: io.Discard}}
	for _, o := range opts {
		if err := o(&b.cfg); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEnvironment, err)
	}
	plan, err := b.prepareInputs(ctx, def, srcDir, dir)
	if err != nil {
		return nil, err
	}
	return plan.resolved, nil
}

// prepareInputs fetches (or finds in the host cache) every input the definition
// declares, checks each against its digest, and lays them out in dir for the
// steps. Nothing here runs in the sandbox, and no step runs unless it succeeds.
// dir is created for the layout.
func (b *Builder) prepareInputs(ctx context.Context, def *Definition, srcDir, dir string) (*inputsPlan, error) {
	plan := &inputsPlan{}
	if len(def.Inputs) == 0 {
		return plan, nil
	}
	start := time.Now()
	plan.dir = dir
	if err := os.Mkdir(plan.dir, 0o755); err != nil {
		return nil, fmt.Errorf("%w: creating the inputs directory: %w", ErrEnvironment, err)
	}
	if err := os.MkdirAll(b.cfg.cacheDir, 0o755); err != nil {
		return nil, hint.Wrapf(fmt.Errorf("%w: input cache %s: %w", ErrEnvironment, b.cfg.cacheDir, err), "set --cache-dir to a writable directory")
	}
	names := map[string]bool{"gomod": true}
	for i, in := range def.Inputs {
		if in.URL == "" {
			continue
		}
		name := inputName(in.URL)
		if name == "" {
			return nil, hint.Wrapf(fmt.Errorf("%w: %s: inputs[%d] url %s does not end in a file name", ErrInvalidDefinition, def.File, i, in.URL),
				"the input is mounted as /inputs/<last element of the URL path>: use a URL whose path ends in a file name")
		}
		if names[name] {
			return nil, hint.Wrapf(fmt.Errorf("%w: %s: inputs[%d] would be /inputs/%s, a name already taken", ErrInvalidDefinition, def.File, i, name),
				"inputs are mounted by the last element of their URL path: two inputs cannot share it (and gomod is reserved)")
		}
		names[name] = true
		b.progressf("input %s", in.URL)
		cached, err := fetchURL(ctx, filepath.Join(b.cfg.cacheDir, "sha256"), in)
		if err != nil {
			return nil, err
		}
		dst := filepath.Join(plan.dir, name)
		if err := linkOrCopy(cached, dst); err != nil {
			return nil, fmt.Errorf("%w: inputs: %w", ErrEnvironment, err)
		}
		// Hash what the steps will see, not what was downloaded some builds ago.
		if got, err := filehash.SHA256(dst); err != nil || got != in.SHA256 {
			return nil, hint.Wrapf(fmt.Errorf("%w: input %s in the cache %s has sha256 %s, slsabox.yaml says %s", ErrInputDigest, in.URL, cached, got, in.SHA256),
				"the host's input cache was changed after slsabox fetched the file: remove it (rm %s) and build again", cached)
		}
		plan.resolved = append(plan.resolved, ResolvedInput{Name: name, URI: in.URL, Digest: map[string]string{"sha256": in.SHA256}, Path: "/inputs/" + name})
	}

	entries, err := readGoSums(srcDir, def.Inputs)
	if err != nil {
		return nil, err
	}
	for _, in := range def.Inputs {
		plan.goMod = plan.goMod || in.GoMod != ""
	}
	if plan.goMod {
		proxy, err := parseGoProxy(b.goProxy(ctx))
		if err != nil {
			return nil, err
		}
		b.progressf("Go modules: %d go.sum lines, module cache %s", len(entries), filepath.Join(b.cfg.cacheDir, "gomod"))
		view := filepath.Join(plan.dir, "gomod")
		if err := os.Mkdir(view, 0o755); err != nil {
			return nil, fmt.Errorf("%w: inputs: %w", ErrEnvironment, err)
		}
		mods, err := goModules(ctx, proxy, filepath.Join(b.cfg.cacheDir, "gomod"), view, entries, b.progressf)
		if err != nil {
			return nil, err
		}
		plan.resolved = append(plan.resolved, mods...)
	}
	b.progressf("inputs ready and verified in %s (%d files and modules)", time.Since(start).Round(time.Millisecond), len(plan.resolved))
	return plan, nil
}

func (b *Builder) goProxy(ctx context.Context) string {
	if b.cfg.goProxy != "" {
		return b.cfg.goProxy
	}
	return hostGoProxy(ctx)
}

// inputName is the file name an input gets under /inputs: the last element of its
// URL's path, or "" when that is not a usable file name.
func inputName(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	name := path.Base(u.Path)
	if name == "/" || name == "." || name == ".." || name == "" || strings.ContainsRune(name, 0) {
		return ""
	}
	return name
}

// fetchURL returns the cache file holding the input, downloading it first when the
// cache (dir, one file per sha256) lacks it. A download whose sha256 is not the one
// declared fails naming both digests and is not kept.
func fetchURL(ctx context.Context, dir string, in Input) (string, error) {
	dst := filepath.Join(dir, in.SHA256)
	if _, err := os.Stat(dst); err == nil {
		return dst, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("%w: input cache: %w", ErrEnvironment, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, in.URL, nil)
	if err != nil {
		return "", hint.Wrapf(fmt.Errorf("%w: input %s: %w", ErrInvalidDefinition, in.URL, err), "fix the url in slsabox.yaml")
	}
	resp, err := (&http.Client{Timeout: 30 * time.Minute}).Do(req)
	if err != nil {
		return "", hint.Wrapf(fmt.Errorf("%w: fetching input %s: %w", ErrEnvironment, in.URL, err), "check the network and that the server is up, then build again")
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", hint.Wrapf(fmt.Errorf("%w: fetching input %s: %s", ErrEnvironment, in.URL, resp.Status), "check the url in slsabox.yaml and that the server serves it")
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return "", fmt.Errorf("%w: input cache: %w", ErrEnvironment, err)
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(tmp, h), resp.Body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", hint.Wrapf(fmt.Errorf("%w: fetching input %s: %w", ErrEnvironment, in.URL, err), "build again")
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != in.SHA256 {
		return "", hint.Wrapf(fmt.Errorf("%w: input %s has sha256 %s, slsabox.yaml says %s", ErrInputDigest, in.URL, got, in.SHA256),
			"the server sent another file than the one pinned: if the new file is the one you want, check it and put its sha256 in slsabox.yaml")
	}
	if err := os.Chmod(tmp.Name(), 0o444); err != nil {
		return "", fmt.Errorf("%w: input cache: %w", ErrEnvironment, err)
	}
	if err := placeOnce(tmp.Name(), dst); err != nil {
		return "", fmt.Errorf("%w: input cache: %w", ErrEnvironment, err)
	}
	return dst, nil
}

// placeOnce gives the finished temporary file tmp the name dst, unless dst exists
// already: the caches are addressed by content, so the copy already there is as good,
// and it must not be replaced. Replacing it (rename over it) drops the old file's
// last link while another build may be hard-linking it into its view, and Linux then
// fails that link with ENOENT. tmp is left for the caller to remove.
func placeOnce(tmp, dst string) error {
	err := os.Link(tmp, dst)
	if err == nil || errors.Is(err, fs.ErrExist) {
		return nil
	}
	var le *os.LinkError
	if errors.As(err, &le) && (errors.Is(le.Err, syscall.EPERM) || errors.Is(le.Err, syscall.ENOTSUP)) {
		// A file system without hard links: the rename is still atomic.
		return os.Rename(tmp, dst)
	}
	return err
}

// h1Hex turns a go.sum "h1:<base64>" into in-toto's dirHash (the same SHA-256 in hex).
func h1Hex(h1 string) string {
	raw, err := base64.StdEncoding.DecodeString(h1[len("h1:"):])
	if err != nil {
		return ""
	}
	return hex.EncodeToString(raw)
}

// writeOnce puts data at dst through a temporary file, so that no reader ever sees
// half a file, and never over a copy already there (placeOnce): for the
// content-addressed caches, and a work directory's owner file. It does not fsync:
// none of these must outlive a crash.
func writeOnce(dst string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("%w: %w", ErrEnvironment, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".tmp-*")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrEnvironment, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), mode)
	}
	if err == nil {
		err = placeOnce(tmp.Name(), dst)
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrEnvironment, err)
	}
	return nil
}

// linkOrCopy hard-links src to dst, or copies it when they are on different file
// systems (or links are refused).
func linkOrCopy(src, dst string) error {
	err := os.Link(src, dst)
	if err == nil {
		return nil
	}
	var le *os.LinkError
	if errors.As(err, &le) && (errors.Is(le.Err, syscall.EXDEV) || errors.Is(le.Err, syscall.EPERM) || errors.Is(le.Err, syscall.EMLINK)) {
		return copyFile(src, dst, 0o444)
	}
	return err
}

// makeReadOnly takes write permission away from everything under dir, as the go
// command does in its module cache.
func makeReadOnly(dir string) error {
	var dirs []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, p)
			return nil
		}
		return os.Chmod(p, 0o444)
	})
	for i := len(dirs) - 1; i >= 0 && err == nil; i-- {
		err = os.Chmod(dirs[i], 0o555)
	}
	return err
}

// removeReadOnly removes a tree that makeReadOnly protected (a missing one is
// fine). Its directories are made writable through an os.Root, which does not follow
// a link out of dir, and os.RemoveAll removes links without following them: safe in
// a directory others may write, as sweep runs it in $TMPDIR.
func removeReadOnly(dir string) error {
	if r, err := os.OpenRoot(dir); err == nil {
		_ = fs.WalkDir(r.FS(), ".", func(name string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				_ = r.Chmod(name, 0o755)
			}
			return nil
		})
		r.Close()
	}
	return os.RemoveAll(dir)
}
