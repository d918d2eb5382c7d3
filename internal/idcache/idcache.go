// Package idcache remembers a value computed from a file's content (the sha256 of
// the slsabox binary, the version runc prints) under the file's identity, so that
// every build does not hash 50 MB or run a program again to learn what it already
// knew.
//
// The rule: an entry is (device, inode, size, mtime, ctime) -> value, times in
// nanoseconds, and it is used only when all five equal those of the file at hand.
// ctime is the field that makes this safe: the kernel sets it to the current time on
// every write, truncate, chmod, utimes, link, unlink or rename of the file, and no
// system call sets it to a chosen value (utimes, which moves mtime back, itself sets
// ctime to now). A replaced file is a new inode (rename over it, cp after rm) whose
// ctime is the time it was made, or the same inode written again, whose ctime moves
// to the time of the write. Either way the identity changes, unless the change falls
// in the same tick of the file system's clock as the ctime that was cached. To rule
// that out, an entry is written only when the file's ctime is at least Margin older
// than the moment the lookup started, and when the file's identity is the same after
// computing the value as before: every change made after the lookup started then has
// a later ctime than the one recorded. A file changed less than Margin ago (a binary
// just built) is computed every time until it is old enough.
//
// What the cache does not defend against: someone who can write the cache file can
// make slsabox record any value, but that is the same user (or root) who could replace
// the binary itself, so a cache file is only read when the effective user owns it and
// nobody else may write to it; and setting the system clock back (root) could give a
// changed file an older ctime. A missing, unreadable or malformed cache is a miss.
package idcache

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	// Margin is how long a file must have been left unchanged before its value is cached.
	Margin     = 2 * time.Second
	maxEntries = 16 // a few files (bin/, an installed one, test builds) share a cache
	maxValue   = 256
)

// Cache is one cache file; the zero Cache (no file) computes every time.
type Cache struct {
	path   string
	margin time.Duration
	now    func() time.Time
	valid  func(string) bool
}

// New returns the cache named name in the user's cache directory
// ($XDG_CACHE_HOME/slsabox or ~/.cache/slsabox), or a Cache that caches nothing when
// there is none. valid, when set, must accept a value read back from the file.
func New(name string, valid func(string) bool) *Cache {
	d, err := os.UserCacheDir()
	if err != nil || !ownedPath(d) {
		return &Cache{}
	}
	return &Cache{path: filepath.Join(d, "slsabox", name), margin: Margin, now: time.Now, valid: valid}
}

// ID is what identifies a file's content without reading it.
type ID struct{ dev, ino, size, mtime, ctime int64 }

// FileID returns the identity of the file fi describes; ok is false where the
// platform does not say.
func FileID(fi os.FileInfo) (id ID, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || !fi.Mode().IsRegular() {
		return ID{}, false
	}
	return ID{dev: int64(st.Dev), ino: int64(st.Ino), size: st.Size, mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano()}, true
}

func (id ID) String() string {
	return fmt.Sprintf("%d %d %d %d %d", id.dev, id.ino, id.size, id.mtime, id.ctime)
}

// Get returns the value for the open file f: from the cache when an entry has f's
// identity, else from compute (which must derive it from f's content alone), adding
// it to the cache when the rule above allows. An error from compute is returned and
// nothing is cached.
func (c *Cache) Get(f *os.File, compute func() (string, error)) (string, error) {
	start := time.Now()
	if c.now != nil {
		start = c.now()
	}
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	id, ok := FileID(fi)
	path := c.path
	if !ok {
		path = ""
	}
	var entries []entry
	if path != "" {
		entries = c.read()
		for _, e := range entries {
			if e.id == id {
				return e.value, nil
			}
		}
	}
	v, err := compute()
	if err != nil || path == "" || !cacheable(v) || time.Unix(0, id.ctime).After(start.Add(-c.margin)) {
		return v, err // an error, no cache, or changed too recently to be cached safely
	}
	if fi2, err := f.Stat(); err != nil {
		return v, nil
	} else if id2, ok := FileID(fi2); !ok || id2 != id {
		return v, nil // changed while it was read
	}
	entries = append([]entry{{id, v}}, entries...)
	if len(entries) > maxEntries {
		entries = entries[:maxEntries]
	}
	c.write(entries) // best effort: a failure only means computing again next time
	return v, nil
}

type entry struct {
	id    ID
	value string
}

func cacheable(v string) bool {
	return v != "" && len(v) <= maxValue && !strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r == 0x7f })
}

// read returns the entries of the cache file, or none if it is missing, malformed, not
// owned by the effective user, or writable by others.
func (c *Cache) read() []entry {
	f, err := os.Open(c.path)
	if err != nil {
		return nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o022 != 0 || fi.Size() > 64<<10 {
		return nil
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != os.Geteuid() {
		return nil
	}
	var entries []entry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		e, ok := parseEntry(sc.Text())
		if !ok || (c.valid != nil && !c.valid(e.value)) {
			return nil
		}
		entries = append(entries, e)
	}
	if sc.Err() != nil {
		return nil
	}
	return entries
}

// parseEntry reads "dev ino size mtime ctime value".
func parseEntry(line string) (entry, bool) {
	f := strings.Split(line, " ")
	if len(f) != 6 || !cacheable(f[5]) {
		return entry{}, false
	}
	var n [5]int64
	for i := range n {
		v, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return entry{}, false
		}
		n[i] = v
	}
	return entry{ID{n[0], n[1], n[2], n[3], n[4]}, f[5]}, true
}

// write replaces the cache file in one rename, so that a reader sees a whole file;
// there is no fsync, since a cache lost in a crash only costs computing once more.
func (c *Cache) write(entries []entry) {
	dir := filepath.Dir(c.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return
	}
	var buf bytes.Buffer
	for _, e := range entries {
		fmt.Fprintf(&buf, "%s %s\n", e.id, e.value)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(c.path)+".tmp-*") // mode 0600
	if err != nil {
		return
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	_, werr := tmp.Write(buf.Bytes())
	if cerr := tmp.Close(); werr != nil || cerr != nil {
		return
	}
	_ = os.Rename(tmp.Name(), c.path)
}

// ownedPath says whether every existing component of the absolute path p, from the
// root down, is a directory (not a link) owned by this user or root that no one else
// may write. Run with another user's HOME (sudo -E), root must not create files by
// following that user's links, nor leave root's files in their cache: then nothing is
// cached.
func ownedPath(p string) bool {
	if !filepath.IsAbs(p) {
		return false
	}
	cur := "/"
	for _, part := range strings.Split(filepath.Clean(p), "/") {
		if part == "" {
			continue
		}
		cur = filepath.Join(cur, part)
		fi, err := os.Lstat(cur)
		if errors.Is(err, os.ErrNotExist) {
			return true // made by this user, with MkdirAll
		}
		if err != nil || !fi.IsDir() {
			return false
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok || (int(st.Uid) != os.Geteuid() && st.Uid != 0) || (fi.Mode().Perm()&0o022 != 0 && fi.Mode()&os.ModeSticky == 0) {
			return false
		}
	}
	return true
}
