package idcache

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

const cacheFileName = "digests"

// digestOf asks the cache in dir for the sha256 of the file at path, with a margin
// small enough for a test (the file system's clock ticks every few milliseconds).
func digestOf(t *testing.T, path, dir string, margin time.Duration) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c := &Cache{path: filepath.Join(dir, cacheFileName), margin: margin, now: time.Now, valid: isHex}
	sum, err := c.Get(f, func() (string, error) {
		b, err := io.ReadAll(f)
		return sha(b), err
	})
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil && len(s) == 64 && strings.ToLower(s) == s
}

func cacheLines(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, cacheFileName))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

const margin = 50 * time.Millisecond

// writeOld writes data to path and waits until its ctime is older than margin.
func writeOld(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o755); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * margin)
}

func TestCachedDigestHit(t *testing.T) {
	dir, bin := t.TempDir(), filepath.Join(t.TempDir(), "slsabox")
	writeOld(t, bin, []byte("binary one"))
	if got := digestOf(t, bin, dir, margin); got != sha([]byte("binary one")) {
		t.Fatalf("digest %s, want the file's", got)
	}
	if n := len(cacheLines(t, dir)); n != 1 {
		t.Fatalf("%d cache entries after a miss, want 1", n)
	}
	// A hit is served from the cache: forge the entry's digest to tell it apart.
	lines := cacheLines(t, dir)
	forged := strings.Repeat("ab", 32)
	line := lines[0][:strings.LastIndexByte(lines[0], ' ')+1] + forged + "\n"
	if err := os.WriteFile(filepath.Join(dir, cacheFileName), []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := digestOf(t, bin, dir, margin); got != forged {
		t.Errorf("digest %s, want the cached %s", got, forged)
	}
}

// TestCachedDigestReplaced: whatever way the binary changes, the digest is the new
// content's, never the cached one.
func TestCachedDigestReplaced(t *testing.T) {
	old, changed := []byte("binary one"), []byte("binary two") // same size
	for _, tc := range []struct {
		name    string
		replace func(t *testing.T, path string)
	}{
		{"rewritten in place with its old mtime", func(t *testing.T, path string) {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Write(changed); err != nil {
				t.Fatal(err)
			}
			f.Close()
			if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
				t.Fatal(err)
			}
		}},
		{"renamed over", func(t *testing.T, path string) {
			tmp := path + ".new"
			if err := os.WriteFile(tmp, changed, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, path); err != nil {
				t.Fatal(err)
			}
		}},
		{"removed and written again", func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, changed, 0o755); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, bin := t.TempDir(), filepath.Join(t.TempDir(), "slsabox")
			writeOld(t, bin, old)
			if got := digestOf(t, bin, dir, margin); got != sha(old) {
				t.Fatalf("first digest %s, want the file's", got)
			}
			if len(cacheLines(t, dir)) != 1 {
				t.Fatal("the first digest was not cached")
			}
			tc.replace(t, bin)
			if got := digestOf(t, bin, dir, margin); got != sha(changed) {
				t.Errorf("digest after the change %s, want the new content's %s", got, sha(changed))
			}
		})
	}
}

func TestCachedDigestNotCached(t *testing.T) {
	t.Run("too young", func(t *testing.T) {
		dir, bin := t.TempDir(), filepath.Join(t.TempDir(), "slsabox")
		if err := os.WriteFile(bin, []byte("fresh"), 0o755); err != nil {
			t.Fatal(err)
		}
		if got := digestOf(t, bin, dir, time.Hour); got != sha([]byte("fresh")) {
			t.Errorf("digest %s, want the file's", got)
		}
		if lines := cacheLines(t, dir); lines != nil {
			t.Errorf("a file changed within the margin was cached: %q", lines)
		}
	})
	for _, tc := range []struct {
		name string
		data string
		perm os.FileMode
	}{
		{"writable by others", "", 0o666},
		{"malformed", "1 2 3 ", 0o600},
		{"upper-case digest", "", 0o600},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, bin := t.TempDir(), filepath.Join(t.TempDir(), "slsabox")
			writeOld(t, bin, []byte("binary"))
			digestOf(t, bin, dir, margin)
			lines := cacheLines(t, dir)
			if len(lines) != 1 {
				t.Fatal("not cached")
			}
			forged := lines[0][:strings.LastIndexByte(lines[0], ' ')+1] + strings.Repeat("ab", 32)
			switch tc.name {
			case "malformed":
				forged = tc.data + forged
			case "upper-case digest":
				forged = strings.ToUpper(forged)
			}
			p := filepath.Join(dir, cacheFileName)
			if err := os.WriteFile(p, []byte(forged+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, tc.perm); err != nil {
				t.Fatal(err)
			}
			if got := digestOf(t, bin, dir, margin); got != sha([]byte("binary")) {
				t.Errorf("digest %s from a cache that is %s, want the file's", got, tc.name)
			}
		})
	}
}

func TestCachedDigestBounded(t *testing.T) {
	dir, bins := t.TempDir(), t.TempDir()
	var paths []string
	for i := range maxEntries + 3 {
		p := filepath.Join(bins, "slsabox"+string(rune('a'+i)))
		if err := os.WriteFile(p, []byte(p), 0o755); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	time.Sleep(2 * margin)
	for _, p := range paths {
		if got := digestOf(t, p, dir, margin); got != sha([]byte(p)) {
			t.Fatalf("%s: digest %s, want the file's", p, got)
		}
	}
	if n := len(cacheLines(t, dir)); n != maxEntries {
		t.Errorf("%d entries, want at most %d", n, maxEntries)
	}
	// The most recent binary is still known.
	if got := digestOf(t, paths[len(paths)-1], dir, margin); got != sha([]byte(paths[len(paths)-1])) {
		t.Errorf("last binary: %s", got)
	}
}

func TestGetError(t *testing.T) {
	dir, bin := t.TempDir(), filepath.Join(t.TempDir(), "runc")
	writeOld(t, bin, []byte("runc"))
	f, err := os.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c := &Cache{path: filepath.Join(dir, cacheFileName), margin: margin, now: time.Now}
	if _, err := c.Get(f, func() (string, error) { return "", errors.New("broken") }); err == nil {
		t.Error("compute's error was not returned")
	}
	for _, v := range []string{"two words", "line\nbreak", ""} {
		if got, err := c.Get(f, func() (string, error) { return v, nil }); err != nil || got != v {
			t.Errorf("Get = %q, %v; want %q", got, err, v)
		}
	}
	if lines := cacheLines(t, dir); lines != nil {
		t.Errorf("an error or a value that cannot be stored was cached: %q", lines)
	}
}

// TestOwnedPath: root following another user's cache directory (sudo -E) caches
// nothing; its own directories, or ones not made yet, are fine.
func TestOwnedPath(t *testing.T) {
	dir := t.TempDir()
	if !ownedPath(filepath.Join(dir, "not", "yet")) {
		t.Error("a path to be made by this user is refused")
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	if ownedPath(filepath.Join(link, "cache")) {
		t.Error("a path through a symbolic link is accepted")
	}
	if os.Geteuid() != 0 {
		return
	}
	other := filepath.Join(dir, "other")
	if err := os.Mkdir(other, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(other, 48213, 48213); err != nil {
		t.Fatal(err)
	}
	if ownedPath(filepath.Join(other, "slsabox")) {
		t.Error("root accepts a directory another user owns")
	}
}
