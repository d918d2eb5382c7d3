package builder

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/slsabox/slsabox/internal/hint"
)

func write(t *testing.T, p, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func TestCollectOutputs(t *testing.T) {
	out, stage := t.TempDir(), t.TempDir()
	write(t, filepath.Join(out, "hello"), "hi", 0o755)
	write(t, filepath.Join(out, "sub/b.txt"), "b", 0o644)
	write(t, filepath.Join(out, "sub/skip.o"), "o", 0o644)
	subs, err := collectOutputs(out, stage, []string{"/out/*", "/out/**/*.txt"}, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 2 || subs[0].Name != "hello" || subs[1].Name != "sub/b.txt" {
		t.Fatalf("subjects = %+v", subs)
	}
	sum := sha256.Sum256([]byte("hi"))
	if subs[0].SHA256 != hex.EncodeToString(sum[:]) || subs[0].Size != 2 {
		t.Errorf("subject = %+v", subs[0])
	}
	if b, err := os.ReadFile(filepath.Join(stage, "sub/b.txt")); err != nil || string(b) != "b" {
		t.Errorf("staged copy = %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(stage, "sub/skip.o")); !os.IsNotExist(err) {
		t.Errorf("unmatched file was staged: %v", err)
	}
}

func TestCollectOutputsRejects(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, out string)
		limit int64
		want  string
	}{
		{"symlink", func(t *testing.T, out string) { must(t, os.Symlink("/etc/shadow", filepath.Join(out, "x"))) }, 1 << 20, "a symlink"},
		{"dir symlink", func(t *testing.T, out string) { must(t, os.Symlink("/etc", filepath.Join(out, "d"))) }, 1 << 20, "a symlink"},
		{"hardlink", func(t *testing.T, out string) {
			write(t, filepath.Join(out, "a"), "a", 0o644)
			must(t, os.Link(filepath.Join(out, "a"), filepath.Join(out, "b")))
		}, 1 << 20, "a hard link"},
		{"setuid", func(t *testing.T, out string) { write(t, filepath.Join(out, "su"), "x", os.ModeSetuid|0o755) }, 1 << 20, "setuid"},
		{"setgid", func(t *testing.T, out string) { write(t, filepath.Join(out, "sg"), "x", os.ModeSetgid|0o755) }, 1 << 20, "setgid"},
		{"fifo", func(t *testing.T, out string) { must(t, syscall.Mkfifo(filepath.Join(out, "p"), 0o644)) }, 1 << 20, "a named pipe"},
		{"nested symlink unmatched", func(t *testing.T, out string) {
			write(t, filepath.Join(out, "a"), "a", 0o644)
			must(t, os.MkdirAll(filepath.Join(out, "deep/er"), 0o755))
			must(t, os.Symlink("/", filepath.Join(out, "deep/er/root")))
		}, 1 << 20, "a symlink"},
		{"too big", func(t *testing.T, out string) { write(t, filepath.Join(out, "big"), strings.Repeat("x", 2048), 0o644) }, 1024, "limits.output_size"},
		{"reserved name", func(t *testing.T, out string) { write(t, filepath.Join(out, "build.log"), "x", 0o644) }, 1 << 20, "slsabox uses"},
		{"nothing", func(t *testing.T, out string) {}, 1 << 20, "no file in /out matches"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := t.TempDir()
			tt.setup(t, out)
			_, err := collectOutputs(out, t.TempDir(), []string{"/out/*"}, tt.limit)
			if !errors.Is(err, ErrOutputRejected) {
				t.Fatalf("err = %v, want ErrOutputRejected", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to say %q", err, tt.want)
			}
			if hint.Of(err) == "" {
				t.Errorf("no hint for %v", err)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestMatchAny(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"/out/*", "/out/a", true},
		{"/out/*", "/out/a/b", false},
		{"/out/**", "/out/a/b", true},
		{"/out/**/*.tar.gz", "/out/x.tar.gz", true},
		{"/out/**/*.tar.gz", "/out/a/b/x.tar.gz", true},
		{"/out/**/*.tar.gz", "/out/a/b/x.zip", false},
		{"/out/bin/*", "/out/bin/hello", true},
		{"/out/bin/*", "/out/hello", false},
	}
	for _, tt := range tests {
		if got := matchAny([]string{tt.pattern}, tt.name); got != tt.want {
			t.Errorf("matchAny(%q, %q) = %v", tt.pattern, tt.name, got)
		}
	}
}

// TestCollectOutputsReservedNested: a reserved name is refused below /out's top level
// too (/out/build.log/x with /out/**), as a rejected output (exit 1), not an
// environment error when the log is written later.
func TestCollectOutputsReservedNested(t *testing.T) {
	for _, name := range []string{"build.log/x", "provenance.sigstore.json/a/b", ".slsabox-output/x"} {
		out := t.TempDir()
		must(t, os.MkdirAll(filepath.Join(out, filepath.Dir(name)), 0o755))
		write(t, filepath.Join(out, name), "x", 0o644)
		_, err := collectOutputs(out, t.TempDir(), []string{"/out/**"}, 1<<20)
		if !errors.Is(err, ErrOutputRejected) || errors.Is(err, ErrEnvironment) || !strings.Contains(err.Error(), "slsabox uses") {
			t.Errorf("/out/%s: %v, want ErrOutputRejected", name, err)
		}
	}
	// A reserved name deeper down is an ordinary file.
	out := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(out, "docs"), 0o755))
	write(t, filepath.Join(out, "docs", "build.log"), "x", 0o644)
	if _, err := collectOutputs(out, t.TempDir(), []string{"/out/**"}, 1<<20); err != nil {
		t.Errorf("/out/docs/build.log: %v", err)
	}
}

// TestCappedWriter keeps the first limit bytes and one marker, then drops the rest and
// still reports every write as whole (the step's copier must not block or fail).
func TestCappedWriter(t *testing.T) {
	var buf bytes.Buffer
	c := newCappedWriter(&buf, 10)
	for _, s := range []string{"12345", "6789", "abcdef", "more", "and more"} {
		if n, err := c.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	want := "123456789a\nslsabox: the build log reached limits.log_size (10B); the rest of the steps' output is not kept\n"
	if buf.String() != want || !c.Truncated {
		t.Errorf("got %q (truncated %v), want %q", buf.String(), c.Truncated, want)
	}
	var exact bytes.Buffer
	c = newCappedWriter(&exact, 4)
	c.Write([]byte("1234"))
	if exact.String() != "1234" || c.Truncated {
		t.Errorf("a log of exactly the limit is cut: %q", exact.String())
	}
}
