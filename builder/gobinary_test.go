package builder

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/slsabox/slsabox/internal/filehash"
	"github.com/slsabox/slsabox/internal/ociarchive"
)

// The test binary is a Go binary with build info: the reader must find what the
// runtime says about itself.
func TestReadGoBinarySelf(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := readGoBinaryFile(exe)
	if err != nil || bin == nil {
		t.Fatalf("readGoBinaryFile(test binary) = %v, %v", bin, err)
	}
	self, _ := debug.ReadBuildInfo()
	if bin.GoVersion != self.GoVersion || bin.Package != self.Path || len(bin.Deps) != len(self.Deps) {
		t.Errorf("got %s %s with %d deps, the runtime says %s %s with %d", bin.GoVersion, bin.Package, len(bin.Deps), self.GoVersion, self.Path, len(self.Deps))
	}
}

func TestReadGoBinaryNotGo(t *testing.T) {
	for name, data := range map[string][]byte{
		"empty":       nil,
		"text":        []byte("#!/bin/sh\necho hi\n"),
		"elf header":  []byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00"),
		"mz":          []byte("MZ\x90\x00garbage"),
		"macho magic": []byte("\xcf\xfa\xed\xfe\x07\x00\x00\x01"),
	} {
		if bin := readGoBinary(bytes.NewReader(data), int64(len(data))); bin != nil {
			t.Errorf("%s: read as a Go binary: %+v", name, bin)
		}
	}
	// A Go binary cut short, or with its build info's header clobbered, is no longer one.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{16, 1 << 10, 1 << 16} {
		if bin := readGoBinary(bytes.NewReader(data[:n]), int64(n)); bin != nil {
			t.Errorf("the first %d bytes of a Go binary read as one: %+v", n, bin)
		}
	}
	magic := []byte("\xff Go buildinf:")
	if !bytes.Contains(data, magic) {
		t.Fatal("no build info magic in the test binary")
	}
	cut := bytes.ReplaceAll(data, magic, []byte("\xff Go buildinX:"))
	if bin := readGoBinary(bytes.NewReader(cut), int64(len(cut))); bin != nil {
		t.Errorf("a binary without the build info magic read as a Go binary")
	}
}

// FuzzReadGoBinary: any bytes, no panic, no hang; what reads as a Go binary has a Go
// version, and every module a path.
func FuzzReadGoBinary(f *testing.F) {
	f.Add([]byte("\x7fELF\x02\x01\x01\x00"))
	f.Add([]byte("MZ"))
	f.Fuzz(func(t *testing.T, data []byte) {
		bin := readGoBinary(bytes.NewReader(data), int64(len(data)))
		if bin == nil {
			return
		}
		for _, m := range bin.Deps {
			if m.Path == "" {
				t.Fatalf("a dependency without a path: %+v", bin)
			}
		}
	})
}

func TestParseModulesTxt(t *testing.T) {
	txt := `# github.com/a/b v1.2.3
## explicit; go 1.21
github.com/a/b
github.com/a/b/sub
# github.com/c/d v0.1.0 => github.com/e/f v0.2.0
## explicit
github.com/c/d
# example.com/local v1.0.0 => ./local
example.com/local
# example.com/unused v1.0.0
## explicit
# example.com/wild => ./wild
# bad line
not a package line without a module
# golang.org/x/text v0.3.0 => golang.org/x/text vX
golang.org/x/text
`
	got := parseModulesTxt([]byte(txt))
	want := []GoModule{
		{Path: "github.com/a/b", Version: "v1.2.3"},
		{Path: "github.com/e/f", Version: "v0.2.0", Replaces: "github.com/c/d@v0.1.0"},
		{Path: "example.com/local", Version: "v1.0.0", Replaces: "example.com/local@v1.0.0", Dir: "./local"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("module %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestVendoredModules(t *testing.T) {
	src := t.TempDir()
	write := func(rel, data string) {
		p := filepath.Join(src, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module x\n")
	write("vendor/modules.txt", "# github.com/a/b v1.0.0\ngithub.com/a/b\n")
	write("tools/go.mod", "module y\n")
	write("tools/vendor/modules.txt", "# github.com/c/d v2.0.0+incompatible\ngithub.com/c/d\n# github.com/a/b v1.0.0\ngithub.com/a/b\n")
	write("nomod/vendor/modules.txt", "# github.com/not/counted v1.0.0\ngithub.com/not/counted\n")
	write("testdata/go.mod", "module z\n")
	write("testdata/vendor/modules.txt", "# github.com/not/counted v1.0.0\ngithub.com/not/counted\n")
	got, err := vendoredModules(src)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range got {
		names = append(names, m.String())
	}
	if s := strings.Join(names, " "); s != "github.com/a/b@v1.0.0 github.com/c/d@v2.0.0+incompatible" {
		t.Errorf("vendored = %s", s)
	}
}

func TestCheckGoModules(t *testing.T) {
	const sum = "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	base := func() *Result {
		return &Result{
			Inputs: []ResolvedInput{
				{URI: "pkg:golang/github.com/a/b@v1.0.0", GoSum: sum},
				{URI: "pkg:golang/github.com/gomod/only@v1.0.0#go.mod", GoSum: sum},
				{URI: "https://example.org/x.tar.gz"},
			},
			Vendored: []GoModule{{Path: "github.com/v/v", Version: "v0.1.0"}},
		}
	}
	for _, tc := range []struct {
		name string
		deps []GoModule
		want string // "" for success, else a part of the message
	}{
		{"pinned", []GoModule{{Path: "github.com/a/b", Version: "v1.0.0", Sum: sum}}, ""},
		{"vendored", []GoModule{{Path: "github.com/v/v", Version: "v0.1.0"}}, ""},
		{"local replace", []GoModule{{Path: "example.com/x", Version: "v1.0.0", Dir: "./x", Replaces: "example.com/x@v1.0.0"}}, ""},
		{"workspace module", []GoModule{{Path: "example.com/other", Version: "(devel)"}}, ""},
		{"missing", []GoModule{{Path: "github.com/evil/mod", Version: "v6.6.6"}}, "/out/bin links github.com/evil/mod@v6.6.6, which no gomod input pins"},
		{"go.mod only", []GoModule{{Path: "github.com/gomod/only", Version: "v1.0.0"}}, "github.com/gomod/only@v1.0.0"},
		{"other version", []GoModule{{Path: "github.com/a/b", Version: "v1.0.1"}}, "github.com/a/b@v1.0.1"},
		{"other hash", []GoModule{{Path: "github.com/a/b", Version: "v1.0.0", Sum: "h1:BBBB"}}, "with hash h1:BBBB, but the gomod input pins it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := base()
			res.Subjects = []Subject{{Name: "bin", Go: &GoBinary{Deps: tc.deps}}}
			err := checkGoModules(res)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrUndeclaredModule) || !errors.Is(err, ErrOutputRejected) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrUndeclaredModule with %q", err, tc.want)
			}
		})
	}
	res := base()
	res.Images = []ImageSubject{{Name: "reg/img", Binaries: []ImageBinary{{Path: "/app", Go: &GoBinary{Deps: []GoModule{{Path: "github.com/evil/mod", Version: "v1.0.0"}}}}}}}
	if err := checkGoModules(res); !errors.Is(err, ErrUndeclaredModule) || !strings.Contains(err.Error(), "/app in image reg/img links github.com/evil/mod@v1.0.0") {
		t.Fatalf("image binary: err = %v", err)
	}
}

// A layout whose layer holds a Go binary (the test binary) and a text file: the
// binary is found at its path, with its sha256; a later whiteout would remove it.
func TestLayoutBinaries(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	txt := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(txt, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "layout")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = ociarchive.WriteLayout(context.Background(), dir, []ociarchive.File{
		{Path: "/usr/bin/app", Source: exe, Mode: 0o755},
		{Path: "/etc/notes.txt", Source: txt, Mode: 0o644},
	}, ociarchive.Options{Epoch: 1, Platform: ociarchive.Platform{OS: "linux", Architecture: "amd64"}})
	if err != nil {
		t.Fatal(err)
	}
	l := openLayout(t, dir)
	bins, err := layoutBinaries(l, t.TempDir(), 1<<32)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := filehash.SHA256(exe)
	if len(bins) != 1 || bins[0].Path != "/usr/bin/app" || bins[0].SHA256 != want || bins[0].Go == nil {
		t.Fatalf("binaries = %+v", bins)
	}
	if _, err := layoutBinaries(l, t.TempDir(), 1024); !errors.Is(err, ErrImageRejected) || !strings.Contains(err.Error(), "unpack to more than") {
		t.Fatalf("a small unpack budget: err = %v", err)
	}
}

func TestLinkedModule(t *testing.T) {
	for _, tc := range []struct {
		in   debug.Module
		want GoModule
	}{
		{debug.Module{Path: "a.example/m", Version: "v1.0.0", Sum: "h1:x"}, GoModule{Path: "a.example/m", Version: "v1.0.0", Sum: "h1:x"}},
		{debug.Module{Path: "a.example/m", Version: "v1.0.0", Replace: &debug.Module{Path: "b.example/fork", Version: "v1.0.1", Sum: "h1:y"}},
			GoModule{Path: "b.example/fork", Version: "v1.0.1", Sum: "h1:y", Replaces: "a.example/m@v1.0.0"}},
		{debug.Module{Path: "a.example/m", Version: "v1.0.0", Replace: &debug.Module{Path: "./m", Version: "(devel)"}},
			GoModule{Path: "a.example/m", Version: "v1.0.0", Replaces: "a.example/m@v1.0.0", Dir: "./m"}},
		{debug.Module{Path: "a.example/m", Version: "v1.0.0", Replace: &debug.Module{Path: "/abs/m"}},
			GoModule{Path: "a.example/m", Version: "v1.0.0", Replaces: "a.example/m@v1.0.0", Dir: "/abs/m"}},
	} {
		if got := linkedModule(&tc.in); got != tc.want {
			t.Errorf("linkedModule(%+v) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}
