package builder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/containerd/containerd/v2/pkg/namespaces"
	"golang.org/x/sys/unix"
)

// imageLock serialises the slow path of resolving one image (import or pull, unpack,
// the mountpoint layer) among the slsabox processes of this host. Without it, builds
// that start together on a cold daemon all import the same archive: containerd lets
// one writer hold each blob's ingest ref and makes the others back off and retry, so
// eight cold builds took 21 s where one took 1.8 s, and the client's
// update-then-create of the image record let one of them fail with "already exists".
// With it, the first build does the work and the others find it done.
//
// It is an flock(2) on a file named for the namespace and the pinned digest: the
// kernel drops it when its holder dies, so a crashed build never blocks the next.
// The fast path (image recorded, mountpoint layer present) takes no lock. Locking is
// reentrant within one resolveImage call and nil-safe; when the lock file cannot be
// made, builds go on unserialised, which is slower but still correct.
type imageLock struct {
	path string
	f    *os.File
}

// imageLockPoll is how often a waiting build tries the lock again; a build waits for
// as long as its context allows.
const imageLockPoll = 20 * time.Millisecond

// newImageLock names the lock for digest in ctx's namespace under dir.
func newImageLock(ctx context.Context, dir, digest string) *imageLock {
	ns, _ := namespaces.Namespace(ctx)
	sum := sha256.Sum256([]byte(ns + "\x00" + digest))
	return &imageLock{path: filepath.Join(dir, "image-"+hex.EncodeToString(sum[:16])+".lock")}
}

// lock takes the lock, waiting for another process's build to finish its slow path.
// It reports whether this call took it (false: held already, or unavailable).
func (l *imageLock) lock(ctx context.Context) (bool, error) {
	if l == nil || l.f != nil {
		return false, nil
	}
	// The cache directory as the input cache makes it; the locks inside only for us.
	dir := filepath.Dir(l.path)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return false, nil //nolint:nilerr // no lock directory: unserialised, see imageLock
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return false, nil //nolint:nilerr // as above
	}
	f, err := os.OpenFile(l.path, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return false, nil //nolint:nilerr // as above
	}
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			l.f = f
			return true, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return false, nil
		}
		select {
		case <-ctx.Done():
			f.Close()
			return false, fmt.Errorf("%w: waiting for another build to prepare the image", ErrInterrupted)
		case <-time.After(imageLockPoll):
		}
	}
}

// unlock releases the lock if this imageLock holds it.
func (l *imageLock) unlock() {
	if l == nil || l.f == nil {
		return
	}
	_ = l.f.Close() // closing the only descriptor releases the flock
	l.f = nil
}

// imageLockDir is where a Builder keeps its image locks: beside its input cache, a
// directory only its user writes to (never a shared /tmp, where another user could
// plant a symlink).
func (b *Builder) imageLockDir() string { return filepath.Join(b.cfg.cacheDir, "locks") }
