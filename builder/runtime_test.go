package builder

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/slsabox/slsabox/internal/idcache"
)

// TestRuncVersionCached: the version of the runc on $PATH comes from the cache once
// runc is old enough, and a runc put in its place is asked again.
func TestRuncVersionCached(t *testing.T) {
	cache, bin := t.TempDir(), t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	t.Setenv("PATH", bin)
	runc := filepath.Join(bin, "runc")
	write := func(version string) {
		t.Helper()
		tmp := runc + ".new"
		script := "#!/bin/sh\necho runc version " + version + "\necho ran >> " + filepath.Join(bin, "log") + "\n"
		if err := os.WriteFile(tmp, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, runc); err != nil {
			t.Fatal(err)
		}
	}
	runs := func() int {
		b, _ := os.ReadFile(filepath.Join(bin, "log"))
		return len(b) / len("ran\n")
	}
	ctx := context.Background()

	write("1.0.0")
	if v := runcVersion(ctx); v != "1.0.0" || runs() != 1 {
		t.Fatalf("runcVersion = %q after %d runs, want 1.0.0 after 1", v, runs())
	}
	if v := runcVersion(ctx); v != "1.0.0" || runs() != 2 {
		t.Fatalf("a runc changed just now was not asked again: %q after %d runs", v, runs())
	}
	time.Sleep(idcache.Margin + 100*time.Millisecond)
	for range 2 {
		if v := runcVersion(ctx); v != "1.0.0" {
			t.Fatalf("runcVersion = %q, want 1.0.0", v)
		}
	}
	if n := runs(); n != 3 {
		t.Errorf("runc ran %d times, want 3 (twice while young, once to fill the cache)", n)
	}
	write("2.0.0") // same size, a new file
	if v := runcVersion(ctx); v != "2.0.0" {
		t.Errorf("after replacing runc: %q, want 2.0.0", v)
	}
}
