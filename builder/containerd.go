package builder

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/containerd/v2/core/snapshots"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"
	"github.com/slsabox/slsabox/internal/hint"
	"google.golang.org/grpc"
)

// Labels put on everything a build creates in containerd, so that a crashed build's
// leftovers can be found and removed (by Sweep, and at the start of every build).
const (
	labelBuild = "dev.slsabox.build" // the build's ID
	labelOwner = "dev.slsabox.owner" // "host/pid/start-ticks" of the process that runs the build
	labelCache = "dev.slsabox.cache" // long-lived objects kept across builds (prepared image layers)
)

// DefaultNamespace is the containerd namespace slsabox works in; it keeps builds apart
// from whatever else the daemon runs (Kubernetes' k8s.io, Docker's moby).
const DefaultNamespace = "slsabox"

// defaultSnapshotter is overlayfs: a read-only view costs nothing, unlike "native", which copies the image.
const defaultSnapshotter = "overlayfs"

// leaseExpiry bounds how long a crashed build's lease protects its snapshots even
// if nothing sweeps it.
const leaseExpiry = 24 * time.Hour

func dial(ctx context.Context, address, namespace string) (*containerd.Client, error) {
	if address == "" || !strings.HasPrefix(address, "/") {
		return nil, hint.Wrapf(fmt.Errorf("%w: containerd address %q is not an absolute socket path", ErrEnvironment, address),
			"pass --containerd-address /run/slsabox/containerd/containerd.sock or set SLSABOX_CONTAINERD")
	}
	if _, err := os.Stat(address); err != nil {
		return nil, hint.Wrapf(fmt.Errorf("%w: containerd socket %s: %w", ErrEnvironment, address, errors.Unwrap(err)),
			"start a private containerd with scripts/containerd.sh start, or point --containerd-address at a running one")
	}
	c, err := containerd.New(address, containerd.WithDefaultNamespace(namespace), containerd.WithTimeout(dialTimeout),
		containerd.WithExtraDialOpts(extraDialOpts))
	if err != nil {
		return nil, hint.Wrapf(fmt.Errorf("%w: connecting to containerd at %s: %w", ErrEnvironment, address, err),
			"check that containerd is running (scripts/containerd.sh status) and that you may open its socket (root)")
	}
	// Bounded: the client waits for the connection to be ready, and a socket that
	// no daemon listens on any more (containerd died) would keep it waiting for ever.
	sctx, cancel := context.WithTimeout(namespaces.WithNamespace(ctx, namespace), dialTimeout)
	defer cancel()
	if ok, err := c.IsServing(sctx); err != nil || !ok {
		c.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: connecting to containerd", ErrInterrupted)
		}
		return nil, hint.Wrapf(fmt.Errorf("%w: containerd at %s is not serving: %w", ErrEnvironment, address, err),
			"start or restart it (scripts/containerd.sh restart, for slsabox's private one), or point --containerd-address at a running one")
	}
	return c, nil
}

// dialTimeout bounds connecting to containerd and its first answer (a variable for
// tests).
var dialTimeout = 10 * time.Second

// extraDialOpts are added to the client's gRPC options: none, but tests watch the
// calls with an interceptor.
var extraDialOpts []grpc.DialOption

// createTimeout bounds the creation of a task, which newTask does not let the
// caller's cancellation cut short.
const createTimeout = time.Minute

// newTask creates ctr's task, to its end even when ctx is cancelled meanwhile (Ctrl-C,
// SIGTERM), within createTimeout. A creation cancelled mid-call can leave what
// containerd had made so far with no task recorded for it (seen with containerd
// 1.6: the root file system mounted in its state directory, or the shim running):
// no clean-up and no sweep can find it then, since containerd itself no longer knows
// it. The caller's clean-up removes the task as usual, and its next call with ctx
// sees the cancellation.
func newTask(ctx context.Context, ctr containerd.Container, ioCreate cio.Creator, opts ...containerd.NewTaskOpts) (containerd.Task, error) {
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), createTimeout)
	defer cancel()
	return ctr.NewTask(tctx, ioCreate, opts...)
}

// ownerID identifies this process across PID reuse: host name, PID and the process's start time.
func ownerID() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), procStart(os.Getpid()))
}

// procStart returns field 22 of /proc/PID/stat (start time in clock ticks), or "".
func procStart(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(b)
	// The command name (field 2) may hold spaces; fields resume after the last ')'.
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return ""
	}
	return f[19]
}

// ownerAlive reports whether the process named by an owner label still runs. An owner
// on another host is taken to be alive: we cannot tell, so we leave its objects alone.
func ownerAlive(owner string) bool {
	parts := strings.Split(owner, "/")
	if len(parts) != 3 {
		return false
	}
	host, _ := os.Hostname()
	if parts[0] != host {
		return true
	}
	pid, err := strconv.Atoi(parts[1])
	if err != nil || pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	return procStart(pid) == parts[2]
}

// SweepReport counts what Sweep removed.
type SweepReport struct {
	Containers int `json:"containers"`
	Snapshots  int `json:"snapshots"`
	Leases     int `json:"leases"`
	// WorkDirs counts the work directories (source copy, /out, module view) of builds
	// whose process is gone.
	WorkDirs int `json:"workDirs"`
}

// ownerFile, in a build's work directory, names the process that runs the build
// (ownerID), so that a sweep can tell a crashed build's directory from a running one.
const ownerFile = ".owner"

// ownDir says whether p is a directory (not a link to one) that this user owns and
// that no one else may write.
func ownDir(p string) bool {
	fi, err := os.Lstat(p)
	if err != nil || !fi.IsDir() || fi.Mode().Perm()&0o022 != 0 {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid()
}

// readOwner reads the owner file inside the work directory p without following a
// link out of it.
func readOwner(p string) (string, error) {
	r, err := os.OpenRoot(p)
	if err != nil {
		return "", err
	}
	defer r.Close()
	f, err := r.OpenFile(ownerFile, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 256))
	return strings.TrimSpace(string(b)), err
}

// workDirName matches the directories Build makes: "slsabox-<build id>-<random>".
var workDirName = lazyRegexp(`^slsabox-[0-9a-f]{12}-[0-9]+$`)

// sweepWorkDirs removes the work directories under dir whose owning process is gone:
// a build killed with SIGKILL cannot remove its own. It runs as root in a directory
// anyone may write ($TMPDIR), so it removes only directories this user owns and no
// one else may write, whose owner file names a process that is gone; it leaves one
// without a readable owner (a build that has just started), and one with anything
// mounted beneath it. Removal never follows a symbolic link.
func sweepWorkDirs(dir string) (int, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return 0, fmt.Errorf("%w: work directory: %w", ErrEnvironment, err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("%w: reading the work directory %s: %w", ErrEnvironment, dir, err)
	}
	mounted, _ := os.ReadFile("/proc/self/mountinfo")
	n := 0
	var errs []error
	for _, e := range ents {
		if !e.IsDir() || !workDirName().MatchString(e.Name()) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		mounts := mountsUnder(mounted, p)
		// A build that died leaves at most its limits.disk filesystem mounted; any other
		// mount means something still uses the directory.
		if !ownDir(p) || len(mounts) > 1 || len(mounts) == 1 && mounts[0] != filepath.Join(p, diskDir) {
			continue
		}
		owner, err := readOwner(p)
		if err != nil || owner == "" || ownerAlive(owner) {
			continue
		}
		if len(mounts) == 1 {
			if err := unmountDisk(mounts[0]); err != nil {
				errs = append(errs, fmt.Errorf("unmounting %s: %w", mounts[0], err))
				continue
			}
		}
		if err := removeReadOnly(p); err != nil {
			errs = append(errs, fmt.Errorf("removing %s: %w", p, err))
			continue
		}
		n++
	}
	if err := errors.Join(errs...); err != nil {
		return n, fmt.Errorf("%w: sweeping work directories: %w", ErrEnvironment, err)
	}
	return n, nil
}

// sweep removes containers, tasks, snapshots and leases left by builds whose owner
// process is gone (or every build's, with all set).
func sweep(ctx context.Context, c *containerd.Client, snapshotter string, all bool) (SweepReport, error) {
	var rep SweepReport
	stale := func(labels map[string]string) bool {
		if labels[labelBuild] == "" {
			return false
		}
		return all || !ownerAlive(labels[labelOwner])
	}
	ctrs, err := c.Containers(ctx, "labels."+strconvQuote(labelBuild))
	if err != nil {
		return rep, fmt.Errorf("%w: listing containers: %w", ErrEnvironment, err)
	}
	var errs []error
	for _, ctr := range ctrs {
		labels, err := ctr.Labels(ctx)
		if err != nil || !stale(labels) {
			continue
		}
		if err := removeContainer(ctx, ctr); err != nil {
			errs = append(errs, err)
			continue
		}
		rep.Containers++
	}
	sn := c.SnapshotService(snapshotter)
	var keys []string
	_ = sn.Walk(ctx, func(_ context.Context, info snapshots.Info) error {
		if stale(info.Labels) {
			keys = append(keys, info.Name)
		}
		return nil
	}, "labels."+strconvQuote(labelBuild))
	for _, k := range keys {
		if err := sn.Remove(ctx, k); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("removing snapshot %s: %w", k, err))
			continue
		}
		rep.Snapshots++
	}
	ls, err := c.LeasesService().List(ctx, "labels."+strconvQuote(labelBuild))
	if err != nil {
		errs = append(errs, fmt.Errorf("listing leases: %w", err))
	}
	for _, l := range ls {
		if !stale(l.Labels) {
			continue
		}
		if err := c.LeasesService().Delete(ctx, l, leases.SynchronousDelete); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("removing lease %s: %w", l.ID, err))
			continue
		}
		rep.Leases++
	}
	if err := errors.Join(errs...); err != nil {
		return rep, fmt.Errorf("%w: sweeping: %w", ErrEnvironment, err)
	}
	return rep, nil
}

// strconvQuote quotes a label key for a containerd filter (its dots need quoting).
func strconvQuote(s string) string { return strconv.Quote(s) }

// removeContainer kills and deletes the container's task, then the container and its snapshot.
func removeContainer(ctx context.Context, ctr containerd.Container) error {
	if t, err := ctr.Task(ctx, nil); err == nil {
		// A task that has exited needs no kill (each costs a runc kill --all).
		if st, err := t.Status(ctx); err != nil || st.Status != containerd.Stopped {
			_ = t.Kill(ctx, syscall.SIGKILL, containerd.WithKillAll)
			if err == nil && st.Status == containerd.Created {
				// Never started (a build interrupted between creating and starting
				// it): runsc sends no exit for it, so wait for the status to leave
				// Created instead (Delete refuses it until then).
				for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
					if st, err := t.Status(ctx); err != nil || st.Status != containerd.Created {
						break
					}
				}
			} else if ch, err := t.Wait(ctx); err == nil {
				select {
				case <-ch:
				case <-time.After(10 * time.Second):
				}
			}
		}
		if _, err := t.Delete(ctx); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("deleting task %s: %w", ctr.ID(), err)
		}
	}
	if err := ctr.Delete(ctx, containerd.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("deleting container %s: %w", ctr.ID(), err)
	}
	return nil
}

// mountsUnder returns the mount points at or under dir in a /proc/self/mountinfo.
func mountsUnder(mountinfo []byte, dir string) []string {
	var out []string
	for _, line := range bytes.Split(mountinfo, []byte("\n")) {
		f := bytes.Fields(line)
		if len(f) < 5 {
			continue
		}
		if mp := string(f[4]); mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	return out
}
