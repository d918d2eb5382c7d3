package builder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slsabox/slsabox/internal/hint"
	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
	modzip "golang.org/x/mod/zip"
)

// testProxy writes modules into a directory laid out as a GOPROXY (path/@v/version.mod
// and .zip), which the go command and slsabox read as file://DIR, and returns the
// go.sum lines of every module.
type testProxy struct {
	t    *testing.T
	dir  string
	sums []string
}

func newTestProxy(t *testing.T) *testProxy {
	return &testProxy{t: t, dir: t.TempDir()}
}

func (p *testProxy) url() string { return "file://" + p.dir }

// add publishes module path@version with the given files (go.mod is generated).
func (p *testProxy) add(path, version string, files map[string]string) {
	t := p.t
	src := t.TempDir()
	goMod := fmt.Sprintf("module %s\n\ngo 1.21\n", path)
	files["go.mod"] = goMod
	for name, body := range files {
		f := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m := module.Version{Path: path, Version: version}
	ep, _ := module.EscapePath(path)
	ev, _ := module.EscapeVersion(version)
	at := filepath.Join(p.dir, ep, "@v")
	if err := os.MkdirAll(at, 0o755); err != nil {
		t.Fatal(err)
	}
	zf, err := os.Create(filepath.Join(at, ev+".zip"))
	if err != nil {
		t.Fatal(err)
	}
	if err := modzip.CreateFromDir(zf, m, src); err != nil {
		t.Fatal(err)
	}
	zf.Close()
	if err := os.WriteFile(filepath.Join(at, ev+".mod"), []byte(goMod), 0o644); err != nil {
		t.Fatal(err)
	}
	zh, err := dirhash.HashZip(zf.Name(), dirhash.Hash1)
	if err != nil {
		t.Fatal(err)
	}
	mh, _ := goModSum([]byte(goMod))
	p.sums = append(p.sums, fmt.Sprintf("%s %s %s", path, version, zh), fmt.Sprintf("%s %s/go.mod %s", path, version, mh))
}

func (p *testProxy) goSum() string { return strings.Join(p.sums, "\n") + "\n" }

// sampleProxy has two modules, one of them with an upper-case path (escaped as !x).
func sampleProxy(t *testing.T) *testProxy {
	p := newTestProxy(t)
	p.add("example.com/greet", "v1.2.0", map[string]string{"greet.go": "package greet\n\nfunc Hello() string { return \"hello\" }\n"})
	p.add("example.com/Upper/shout", "v0.1.0", map[string]string{"shout.go": "package shout\n\nimport \"strings\"\n\nfunc Loud(s string) string { return strings.ToUpper(s) + \"!\" }\n",
		"internal/x/x.go": "package x\n"})
	return p
}

func mustEntries(t *testing.T, sum string) []goSumEntry {
	t.Helper()
	e, err := parseGoSum("go.sum", []byte(sum))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestParseGoSum(t *testing.T) {
	good := "example.com/a v1.0.0 h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\nexample.com/a v1.0.0/go.mod h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n"
	e, err := parseGoSum("go.sum", []byte(good+good))
	if err != nil || len(e) != 2 || e[0].GoMod || !e[1].GoMod || e[1].key() != "example.com/a@v1.0.0/go.mod" {
		t.Fatalf("parseGoSum = %+v, %v", e, err)
	}
	for name, bad := range map[string]string{
		"two fields":    "example.com/a v1.0.0\n",
		"bad version":   "example.com/a 1.0 h1:x=\n",
		"bad path":      "Example..com/a v1.0.0 h1:x=\n",
		"not h1":        "example.com/a v1.0.0 h2:x=\n",
		"two hashes":    "example.com/a v1.0.0 h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\nexample.com/a v1.0.0 h1:1QivrlhwAsnMOcqgOdl9my7s9OyZl8O5/UGUTJVXoWc=\n",
		"short hash":    "example.com/a v1.0.0 h1:AAAA\n",
		"non-canonical": "example.com/a v1.0 h1:x=\n",
	} {
		if _, err := parseGoSum("go.sum", []byte(bad)); !errors.Is(err, ErrInvalidSource) || !strings.Contains(err.Error(), "go.sum:") {
			t.Errorf("%s: err = %v, want ErrInvalidSource naming the line", name, err)
		}
	}
}

func TestMissingSums(t *testing.T) {
	sums := mustEntries(t, "example.com/a v1.0.0/go.mod h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\nexample.com/r v2.0.0+incompatible/go.mod h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n")
	goMod := `module m

go 1.22

require (
	example.com/a v1.0.0
	example.com/b v1.1.0 // indirect
	example.com/local v0.0.0
	example.com/old v1.0.0
)

replace example.com/local => ./local

replace example.com/old => example.com/r v2.0.0+incompatible
`
	missing, err := missingSums("go.mod", []byte(goMod), sums)
	if err != nil || strings.Join(missing, " ") != "example.com/b@v1.1.0" {
		t.Fatalf("missing = %v, %v; want example.com/b@v1.1.0", missing, err)
	}
	if _, err := missingSums("go.mod", []byte("module m\nrequire (\n"), sums); !errors.Is(err, ErrInvalidSource) {
		t.Errorf("broken go.mod: %v", err)
	}
}

func TestParseGoProxy(t *testing.T) {
	p, err := parseGoProxy("https://a.example/, file:///x|direct")
	if err != nil || len(p.entries) != 3 || p.entries[0].url != "https://a.example" || p.entries[0].anyFailure || !p.entries[1].anyFailure {
		t.Fatalf("parseGoProxy = %+v, %v", p, err)
	}
	for _, bad := range []string{"off", "direct", "", "ftp://x", "proxy.golang.org"} {
		if _, err := parseGoProxy(bad); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("parseGoProxy(%q) = %v, want ErrInvalidInput", bad, err)
		}
	}
}

func noProgress(string, ...any) {}

// TestGoModulesFetchVerifyAndBuild fetches from a file:// proxy into a cache, makes the
// view, and builds a program with the real go command from that view alone: no proxy,
// no checksum database, -mod=readonly.
func TestGoModulesFetchVerifyAndBuild(t *testing.T) {
	p := sampleProxy(t)
	proxy, err := parseGoProxy("file:///nonexistent," + p.url()) // the first misses: falls through
	if err != nil {
		t.Fatal(err)
	}
	entries := mustEntries(t, p.goSum())
	cache, view := t.TempDir(), t.TempDir()
	var lines []string
	progress := func(f string, a ...any) { lines = append(lines, fmt.Sprintf(f, a...)) }
	res, err := goModules(context.Background(), proxy, cache, view, entries, progress)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "fetched 4 Go module files") {
		t.Errorf("progress = %q", lines)
	}
	if len(res) != 4 || res[0].URI != "pkg:golang/example.com/Upper/shout@v0.1.0" || res[1].URI != "pkg:golang/example.com/Upper/shout@v0.1.0#go.mod" {
		t.Errorf("resolved = %+v", res)
	}
	for _, r := range res {
		if len(r.Digest["dirHash"]) != 64 || !strings.HasPrefix(r.GoSum, "h1:") || h1Hex(r.GoSum) != r.Digest["dirHash"] {
			t.Errorf("resolved %s: digest %v, goSum %s", r.Name, r.Digest, r.GoSum)
		}
	}
	if _, err := os.Stat(filepath.Join(cache, "example.com", "!upper", "shout@v0.1.0", "internal", "x", "x.go")); err != nil {
		t.Errorf("module not extracted under its escaped path: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(cache, "example.com", "greet@v1.2.0", "greet.go")); err != nil || fi.Mode().Perm()&0o222 != 0 {
		t.Errorf("cached module file is writable or missing: %v %v", fi, err)
	}

	// A warm cache fetches nothing, even with no proxy reachable.
	lines = nil
	offline, _ := parseGoProxy("file:///nonexistent")
	if _, err := goModules(context.Background(), offline, cache, t.TempDir(), entries, progress); err != nil || len(lines) != 0 {
		t.Fatalf("warm cache: %v, progress %q", err, lines)
	}

	// The real go command builds from the view with nothing else.
	src := t.TempDir()
	files := map[string]string{
		"go.mod":  "module example.com/app\n\ngo 1.21\n\nrequire (\n\texample.com/greet v1.2.0\n\texample.com/Upper/shout v0.1.0\n)\n",
		"go.sum":  p.goSum(),
		"main.go": "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/Upper/shout\"\n\t\"example.com/greet\"\n)\n\nfunc main() { fmt.Println(shout.Loud(greet.Hello())) }\n",
	}
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(src, n), []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gocache, err := exec.Command("go", "env", "GOCACHE").Output() // the host's build cache keeps this test fast
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "GOCACHE=" + strings.TrimSpace(string(gocache)), "GOTOOLCHAIN=local", "CGO_ENABLED=0"}
	env = goModEnv(append(env, "GOMODCACHE=/elsewhere", "GOFLAGS=-trimpath -mod=mod"))
	for i, e := range env {
		if strings.HasPrefix(e, "GOMODCACHE=") {
			env[i] = "GOMODCACHE=" + view
		}
	}
	cmd := exec.Command("go", "run", ".")
	cmd.Dir, cmd.Env = src, env
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "HELLO!" {
		t.Fatalf("go run from the view: %v\n%s\nenv: %q", err, out, env)
	}
}

func TestGoModulesTamperedCache(t *testing.T) {
	p := sampleProxy(t)
	proxy, _ := parseGoProxy(p.url())
	entries := mustEntries(t, p.goSum())
	cache := t.TempDir()
	if _, err := goModules(context.Background(), proxy, cache, t.TempDir(), entries, noProgress); err != nil {
		t.Fatal(err)
	}
	for name, tamper := range map[string]func(t *testing.T){
		"changed file": func(t *testing.T) {
			f := filepath.Join(cache, "example.com", "greet@v1.2.0", "greet.go")
			os.Chmod(f, 0o644)
			if err := os.WriteFile(f, []byte("package greet\n\nfunc Hello() string { return \"pwned\" }\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		},
		"added file": func(t *testing.T) {
			d := filepath.Join(cache, "example.com", "greet@v1.2.0")
			os.Chmod(d, 0o755)
			if err := os.WriteFile(filepath.Join(d, "init.go"), []byte("package greet\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		},
		"symlink": func(t *testing.T) {
			d := filepath.Join(cache, "example.com", "greet@v1.2.0")
			os.Chmod(d, 0o755)
			if err := os.Symlink("/etc/passwd", filepath.Join(d, "x.go")); err != nil {
				t.Fatal(err)
			}
		},
		"changed go.mod": func(t *testing.T) {
			f := modFile(cache, module.Version{Path: "example.com/greet", Version: "v1.2.0"})
			os.Chmod(f, 0o644)
			if err := os.WriteFile(f, []byte("module example.com/greet\n\nrequire evil.example/x v1.0.0\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			c := t.TempDir()
			if out, err := exec.Command("cp", "-a", cache+"/.", c).CombinedOutput(); err != nil {
				t.Fatalf("%v %s", err, out)
			}
			old := cache
			cache = c
			tamper(t)
			cache = old
			_, err := goModules(context.Background(), proxy, c, t.TempDir(), entries, noProgress)
			if !errors.Is(err, ErrInputDigest) || !strings.Contains(err.Error(), "example.com/greet@v1.2.0") || !strings.Contains(hint.Of(err), "rm -rf") {
				t.Fatalf("err = %v (hint %q), want ErrInputDigest naming example.com/greet@v1.2.0", err, hint.Of(err))
			}
		})
	}
}

func TestGoModulesBadProxy(t *testing.T) {
	p := sampleProxy(t)
	entries := mustEntries(t, p.goSum())
	// go.sum pins other content than the proxy serves.
	wrong := make([]goSumEntry, len(entries))
	copy(wrong, entries)
	wrong[0].Hash = "h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
	proxy, _ := parseGoProxy(p.url())
	_, err := goModules(context.Background(), proxy, t.TempDir(), t.TempDir(), wrong, noProgress)
	if !errors.Is(err, ErrInputDigest) || !strings.Contains(err.Error(), "go.sum says h1:47DEQ") {
		t.Errorf("wrong hash: %v", err)
	}
	// A module the proxy does not have.
	missing := mustEntries(t, "example.com/gone v1.0.0 h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n")
	_, err = goModules(context.Background(), proxy, t.TempDir(), t.TempDir(), missing, noProgress)
	if !errors.Is(err, ErrEnvironment) || !strings.Contains(err.Error(), "example.com/gone@v1.0.0") {
		t.Errorf("missing module: %v", err)
	}
	// Over HTTP: a server error does not fall through a ",", a 404 does.
	srv := httptest.NewServer(http.FileServer(http.Dir(p.dir)))
	defer srv.Close()
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusBadGateway) }))
	defer broken.Close()
	notFound := httptest.NewServer(http.NotFoundHandler())
	defer notFound.Close()
	px, _ := parseGoProxy(notFound.URL + "," + srv.URL)
	if _, err := goModules(context.Background(), px, t.TempDir(), t.TempDir(), entries, noProgress); err != nil {
		t.Errorf("404 then a good proxy: %v", err)
	}
	px, _ = parseGoProxy(broken.URL + "," + srv.URL)
	if _, err := goModules(context.Background(), px, t.TempDir(), t.TempDir(), entries, noProgress); !errors.Is(err, ErrEnvironment) || !strings.Contains(err.Error(), "502") {
		t.Errorf("502 before ',': %v", err)
	}
	px, _ = parseGoProxy(broken.URL + "|" + srv.URL)
	if _, err := goModules(context.Background(), px, t.TempDir(), t.TempDir(), entries, noProgress); err != nil {
		t.Errorf("502 before '|': %v", err)
	}
}

func TestGoModEnv(t *testing.T) {
	got := strings.Join(goModEnv([]string{"PATH=/bin", "GOFLAGS=-trimpath -mod=vendor", "GOPROXY=https://x"}), " ")
	want := "PATH=/bin GOFLAGS=-trimpath -mod=readonly GOPROXY=off GOMODCACHE=/inputs/gomod GOSUMDB=off GOTOOLCHAIN=local"
	if got != want {
		t.Errorf("env = %s\nwant  %s", got, want)
	}
	if got := strings.Join(goModEnv([]string{"GOTOOLCHAIN=go1.26.8"}), " "); !strings.HasPrefix(got, "GOTOOLCHAIN=go1.26.8 ") || strings.Count(got, "GOTOOLCHAIN") != 1 {
		t.Errorf("the image's GOTOOLCHAIN is kept: %s", got)
	}
}

func TestReadGoSums(t *testing.T) {
	p := sampleProxy(t)
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "go.sum"), []byte(p.goSum()), 0o644)
	os.WriteFile(filepath.Join(src, "go.mod"), []byte("module m\n\ngo 1.21\n\nrequire (\n\texample.com/greet v1.2.0\n\texample.com/added v0.3.0\n\texample.com/also v1.0.0\n)\n"), 0o644)
	_, err := readGoSums(src, []Input{{GoMod: "go.sum"}})
	if !errors.Is(err, ErrInvalidSource) || !strings.Contains(err.Error(), "example.com/added@v0.3.0, example.com/also@v1.0.0") || !strings.Contains(hint.Of(err), "go mod tidy") {
		t.Errorf("missing go.sum lines: %v (hint %q)", err, hint.Of(err))
	}
	os.WriteFile(filepath.Join(src, "go.mod"), []byte("module m\n\ngo 1.21\n\nrequire example.com/greet v1.2.0\n"), 0o644)
	e, err := readGoSums(src, []Input{{GoMod: "go.sum"}, {URL: "https://x/y", SHA256: strings.Repeat("0", 64)}})
	if err != nil || len(e) != 4 {
		t.Errorf("readGoSums = %d entries, %v", len(e), err)
	}
	if _, err := readGoSums(src, []Input{{GoMod: "sub/go.sum"}}); !errors.Is(err, ErrInvalidSource) {
		t.Errorf("absent go.sum: %v", err)
	}
}

func TestFetchURL(t *testing.T) {
	body := []byte("a dependency tarball\n")
	sum := sha256.Sum256(body)
	good := hex.EncodeToString(sum[:])
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		w.Write(body)
	}))
	defer srv.Close()
	dir := t.TempDir()
	p, err := fetchURL(context.Background(), dir, Input{URL: srv.URL + "/dep-1.0.tar.gz", SHA256: good})
	if err != nil || filepath.Base(p) != good {
		t.Fatalf("fetchURL = %s, %v", p, err)
	}
	if _, err := fetchURL(context.Background(), dir, Input{URL: srv.URL + "/dep-1.0.tar.gz", SHA256: good}); err != nil || hits != 1 {
		t.Errorf("cached fetch: %v, %d requests", err, hits)
	}
	wrong := strings.Repeat("ab", 32)
	_, err = fetchURL(context.Background(), dir, Input{URL: srv.URL + "/dep-1.0.tar.gz", SHA256: wrong})
	if !errors.Is(err, ErrInputDigest) || !strings.Contains(err.Error(), good) || !strings.Contains(err.Error(), wrong) {
		t.Errorf("wrong sha256: %v, want both digests named", err)
	}
	if _, err := os.Stat(filepath.Join(dir, wrong)); !os.IsNotExist(err) {
		t.Errorf("a mismatching download was kept in the cache")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("cache holds %d files, want 1 (no temporary left)", len(entries))
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	if _, err := fetchURL(context.Background(), dir, Input{URL: closed.URL + "/x", SHA256: wrong}); !errors.Is(err, ErrEnvironment) {
		t.Errorf("unreachable server: %v", err)
	}
	for u, want := range map[string]string{"https://example.org/a/dep-1.2.tar.gz?x=1": "dep-1.2.tar.gz", "https://example.org/": "",
		"https://example.org/a/..": "", "https://example.org/%2e%2e": "", "https://example.org/a/b%2Fc": "c", "https://example.org": ""} {
		if n := inputName(u); n != want {
			t.Errorf("inputName(%s) = %q, want %q", u, n, want)
		}
	}
}

// TestPrepareInputs lays out a URL input and a go.sum's modules as the steps see them,
// and rejects inputs that would collide under /inputs.
func TestPrepareInputs(t *testing.T) {
	p := sampleProxy(t)
	body := []byte("tool\n")
	sum := sha256.Sum256(body)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	defer srv.Close()
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "go.sum"), []byte(p.goSum()), 0o644)
	os.WriteFile(filepath.Join(src, "go.mod"), []byte("module m\n\ngo 1.21\n\nrequire example.com/greet v1.2.0\n"), 0o644)
	def := &Definition{File: "slsabox.yaml", Inputs: []Input{{URL: srv.URL + "/tool.txt", SHA256: hex.EncodeToString(sum[:])}, {GoMod: "go.sum"}}}
	var progress strings.Builder
	opts := []Option{WithCacheDir(t.TempDir()), WithGoProxy(p.url()), WithProgress(&progress)}
	dir := filepath.Join(t.TempDir(), "inputs")
	res, err := PrepareInputs(context.Background(), def, src, dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 5 || res[0].Path != "/inputs/tool.txt" || res[1].Path != "/inputs/gomod" {
		t.Errorf("resolved = %+v", res)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "tool.txt")); string(got) != string(body) {
		t.Errorf("/inputs/tool.txt = %q", got)
	}
	for _, f := range []string{"gomod/example.com/greet@v1.2.0/greet.go", "gomod/cache/download/example.com/greet/@v/v1.2.0.mod",
		"gomod/cache/download/example.com/greet/@v/v1.2.0.ziphash", "gomod/cache/download/example.com/greet/@v/v1.2.0.info"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("layout: %v", err)
		}
	}
	if !strings.Contains(progress.String(), "inputs ready and verified") {
		t.Errorf("progress = %q", progress.String())
	}
	for name, in := range map[string][]Input{
		"same name":     {{URL: srv.URL + "/a/x.txt", SHA256: hex.EncodeToString(sum[:])}, {URL: srv.URL + "/b/x.txt", SHA256: hex.EncodeToString(sum[:])}},
		"reserved name": {{URL: srv.URL + "/gomod", SHA256: hex.EncodeToString(sum[:])}},
		"no file name":  {{URL: srv.URL + "/", SHA256: hex.EncodeToString(sum[:])}},
	} {
		_, err := PrepareInputs(context.Background(), &Definition{File: "slsabox.yaml", Inputs: in}, src, filepath.Join(t.TempDir(), "i"), opts...)
		if !errors.Is(err, ErrInvalidDefinition) {
			t.Errorf("%s: %v, want ErrInvalidDefinition", name, err)
		}
	}
}

// TestGoModulesConcurrent: builds that share a cold cache fetch at the same time;
// every one succeeds, and the cache ends up with one good copy and no temporary files.
func TestGoModulesConcurrent(t *testing.T) {
	p := sampleProxy(t)
	proxy, _ := parseGoProxy(p.url())
	entries := mustEntries(t, p.goSum())
	cache := t.TempDir()
	errs := make(chan error, 6)
	for i := 0; i < cap(errs); i++ {
		go func() {
			_, err := goModules(context.Background(), proxy, cache, t.TempDir(), entries, noProgress)
			errs <- err
		}()
	}
	for i := 0; i < cap(errs); i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	err := filepath.WalkDir(cache, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".tmp-") {
			t.Errorf("temporary file left in the cache: %s", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := goModules(context.Background(), proxy, cache, t.TempDir(), entries, noProgress); err != nil {
		t.Errorf("the cache after concurrent fills does not verify: %v", err)
	}
}
