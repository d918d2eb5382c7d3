package version

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The provenance of every signed build records the sha256 of the slsabox binary, a
// file of about 50 MB: hashing it costs about 50 ms of CPU, as much as the rest of
// signing. The digest is therefore cached in a small file in the user's cache
// directory, keyed by the identity of the file that runs.
//
// The rule: an entry is (device, inode, size, mtime, ctime) -> sha256, all times in
// nanoseconds, and it is used only when all five are equal to those of the file that
// runs. ctime is the field that makes this safe: the kernel sets it to the current
// time on every write, truncate, chmod, utimes or rename of the file, and no system
// call sets it to a chosen value (utimes, which moves mtime back, itself sets ctime
// to now). A replaced binary is a new inode (rename, cp over a deleted file) whose
// ctime is the time it was made, or the same inode written again, whose ctime moves
// to the time of the write. Either way the identity changes, unless the change
// falls in the same tick of the file system's clock as the ctime that was cached.
// To rule that out, an entry is written only when the file's ctime is at least
// cacheMargin older than the moment hashing started, and when the file's identity
// is the same after hashing as before: every change made after hashing started then
// has a later ctime than the one recorded. A binary just built (younger than
// cacheMargin) is hashed every time until it is old enough.
//
// What the cache does not defend against: someone who can write the cache file can
// make slsabox record any digest, but that is the same user (or root) who could
// replace the binary itself, so the file is only trusted when it is owned by the
// effective user and nobody else may write it; and setting the system clock back
// (root) could give a changed file an older ctime. A missing, unreadable or
// malformed cache is a miss: the binary is hashed.
const (
	cacheMargin     = 2 * time.Second
	cacheMaxEntries = 16 // a few binaries (bin/, an installed one, test builds) share it
	cacheFileName   = "binary-sha256"
)

// fileID is what identifies the content of a file without reading it.
type fileID struct {
	dev, ino, size, mtime, ctime int64
}

func statID(fi os.FileInfo) (fileID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{
		dev: int64(st.Dev), ino: int64(st.Ino), size: st.Size,
		mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano(),
	}, true
}

func (id fileID) String() string {
	return fmt.Sprintf("%d %d %d %d %d", id.dev, id.ino, id.size, id.mtime, id.ctime)
}

// cacheDir is where the digest cache lives: $XDG_CACHE_HOME/slsabox or
// ~/.cache/slsabox; "" (no cache) when there is no home.
func cacheDir() string {
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "slsabox")
}

// hashExecutable returns the sha256 (hex) of the running executable, from the cache
// when its identity allows (see the rule above). It opens /proc/self/exe, the file
// the kernel runs, rather than the path the process was started by: that path may
// have been replaced since.
func hashExecutable() string {
	f, err := os.Open("/proc/self/exe")
	if err != nil {
		exe, err := os.Executable()
		if err != nil {
			return ""
		}
		if f, err = os.Open(exe); err != nil {
			return ""
		}
	}
	defer f.Close()
	sum, _ := cachedDigest(f, cacheDir(), time.Now, cacheMargin)
	return sum
}

// cachedDigest returns the sha256 of f, looked up in (and, on a miss, added to) the
// cache in dir; "" as dir disables the cache. now and margin are parameters for the
// tests.
func cachedDigest(f *os.File, dir string, now func() time.Time, margin time.Duration) (sum string, err error) {
	start := now()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	id, ok := statID(fi)
	if !ok || !fi.Mode().IsRegular() {
		dir = ""
	}
	var entries []cacheEntry
	if dir != "" {
		entries = readCache(filepath.Join(dir, cacheFileName))
		for _, e := range entries {
			if e.id == id {
				return e.sum, nil
			}
		}
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, fi.Size())); err != nil {
		return "", err
	}
	sum = hex.EncodeToString(h.Sum(nil))
	if dir == "" || time.Unix(0, id.ctime).After(start.Add(-margin)) {
		return sum, nil // no cache, or too young to be cached safely
	}
	if fi2, err := f.Stat(); err != nil {
		return sum, nil
	} else if id2, ok := statID(fi2); !ok || id2 != id {
		return sum, nil // changed while it was read
	}
	entries = append([]cacheEntry{{id, sum}}, entries...)
	if len(entries) > cacheMaxEntries {
		entries = entries[:cacheMaxEntries]
	}
	writeCache(dir, entries) // best effort: a failure only means hashing next time
	return sum, nil
}

type cacheEntry struct {
	id  fileID
	sum string
}

// readCache reads the entries of the cache file, or none if it is missing, malformed,
// not owned by the effective user, or writable by others.
func readCache(path string) []cacheEntry {
	f, err := os.Open(path)
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
	var entries []cacheEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		e, ok := parseEntry(sc.Text())
		if !ok {
			return nil
		}
		entries = append(entries, e)
	}
	if sc.Err() != nil {
		return nil
	}
	return entries
}

// parseEntry reads "dev ino size mtime ctime sha256hex".
func parseEntry(line string) (cacheEntry, bool) {
	f := strings.Fields(line)
	if len(f) != 6 {
		return cacheEntry{}, false
	}
	var n [5]int64
	for i := range n {
		v, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return cacheEntry{}, false
		}
		n[i] = v
	}
	if b, err := hex.DecodeString(f[5]); err != nil || len(b) != sha256.Size || f[5] != strings.ToLower(f[5]) {
		return cacheEntry{}, false
	}
	return cacheEntry{fileID{n[0], n[1], n[2], n[3], n[4]}, f[5]}, true
}

// writeCache replaces the cache file in one rename, so that a reader sees a whole
// file; there is no fsync, since a cache lost in a crash only costs one hashing.
func writeCache(dir string, entries []cacheEntry) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return
	}
	var buf bytes.Buffer
	for _, e := range entries {
		fmt.Fprintf(&buf, "%s %s\n", e.id, e.sum)
	}
	tmp, err := os.CreateTemp(dir, "."+cacheFileName+".tmp-*")
	if err != nil {
		return
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	_, werr := tmp.Write(buf.Bytes())
	if cerr := tmp.Close(); werr != nil || cerr != nil {
		return
	}
	_ = os.Rename(tmp.Name(), filepath.Join(dir, cacheFileName))
}
