package builder

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/slsabox/slsabox/internal/hint"
)

// diskDir is where, under a build's work directory, the filesystem of limits.disk is
// mounted; the step's /src, /out and /tmp live in it.
const diskDir = "disk"

// mountDisk makes a filesystem of exactly size bytes for everything the steps write:
// an ext4 filesystem in a sparse file of the work directory, mounted at work/disk
// through a loop device (nosuid, nodev), so that a step that writes without end fills
// it, not the host's disk. The loop device is released when it is unmounted
// (unmountDisk).
func mountDisk(ctx context.Context, work string, size int64) (string, error) {
	img, dir := filepath.Join(work, "disk.img"), filepath.Join(work, diskDir)
	f, err := os.OpenFile(img, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", fmt.Errorf("%w: limits.disk: %w", ErrEnvironment, err)
	}
	err = f.Truncate(size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("%w: limits.disk: %w", ErrEnvironment, err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", fmt.Errorf("%w: limits.disk: %w", ErrEnvironment, err)
	}
	// No journal and no reserved blocks: a throwaway filesystem, every byte for the steps.
	if out, err := exec.CommandContext(ctx, "mkfs.ext4", "-q", "-F", "-m", "0", "-O", "^has_journal",
		"-E", "lazy_itable_init=1,root_owner=0:0", img).CombinedOutput(); err != nil {
		return "", hint.Wrap(fmt.Errorf("%w: limits.disk: mkfs.ext4: %w: %s", ErrEnvironment, err, strings.TrimSpace(string(out))),
			"limits.disk needs e2fsprogs (mkfs.ext4): apt-get install e2fsprogs")
	}
	if err := loopMount(img, dir); err != nil {
		return "", hint.Wrap(fmt.Errorf("%w: limits.disk: mounting a %s filesystem: %w", ErrEnvironment, formatSize(size), err),
			"limits.disk needs loop devices (root, and /dev/loop-control; in a container, --privileged or a loop device passed in); or leave limits.disk out")
	}
	return dir, nil
}

// loopMount attaches img to a free loop device and mounts its ext4 filesystem at
// dir (nosuid, nodev), as mount -o loop does, without running mount: libmount's
// loop set-up took 30 ms to 0.3 s a build. The device is attached with
// LO_FLAGS_AUTOCLEAR, so the kernel detaches it when the filesystem is unmounted.
func loopMount(img, dir string) error {
	backing, err := os.OpenFile(img, os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer backing.Close()
	loop, err := attachFreeLoop(backing)
	if err != nil {
		return err
	}
	// The device stays open until the mount holds it: its last close before that
	// would detach it (autoclear).
	err = unix.Mount(loop.Name(), dir, "ext4", unix.MS_NOSUID|unix.MS_NODEV, "")
	if err != nil {
		_ = unix.IoctlSetInt(int(loop.Fd()), unix.LOOP_CLR_FD, 0)
		err = fmt.Errorf("mount %s on %s: %w", loop.Name(), dir, err)
	}
	loop.Close()
	return err
}

// loopControl is the kernel's allocator of loop devices (a variable for tests).
var loopControl = "/dev/loop-control"

// attachFreeLoop attaches backing to a free loop device and returns the device,
// open: the one loopControl hands out, or, without loopControl (a container given
// loop devices alone), the first /dev/loopN that takes it, as util-linux does.
func attachFreeLoop(backing *os.File) (*os.File, error) {
	ctl, err := os.OpenFile(loopControl, os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		devs, _ := filepath.Glob("/dev/loop[0-9]*")
		for _, dev := range devs {
			if loop, aerr := attachLoop(dev, backing); aerr == nil {
				return loop, nil
			}
		}
		return nil, fmt.Errorf("no free loop device: %w, and none of the %d devices /dev/loopN took the filesystem", err, len(devs))
	}
	defer ctl.Close()
	// Another process may take the free device between the two calls: try again.
	for attempt := 0; ; attempt++ {
		n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
		if err != nil {
			return nil, fmt.Errorf("finding a free loop device: %w", err)
		}
		dev := "/dev/loop" + strconv.Itoa(n)
		loop, err := attachLoop(dev, backing)
		// A device the kernel has just made may take a moment to appear in /dev
		// (udev), as util-linux allows for.
		for wait := 0; errors.Is(err, fs.ErrNotExist) && wait < 16; wait++ {
			time.Sleep(25 * time.Millisecond)
			loop, err = attachLoop(dev, backing)
		}
		if errors.Is(err, unix.EBUSY) && attempt < 10 {
			continue
		}
		return loop, err
	}
}

// attachLoop attaches backing to the loop device dev and returns the device, open:
// the kernel detaches it on its last close once it is unmounted (autoclear).
// LOOP_CONFIGURE, or LOOP_SET_FD and LOOP_SET_STATUS64 before Linux 5.8.
func attachLoop(dev string, backing *os.File) (*os.File, error) {
	f, err := os.OpenFile(dev, os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	cfg := unix.LoopConfig{Fd: uint32(backing.Fd())}
	cfg.Info.Flags = unix.LO_FLAGS_AUTOCLEAR
	err = unix.IoctlLoopConfigure(int(f.Fd()), &cfg)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOTTY) { // before Linux 5.8
		if err = unix.IoctlSetInt(int(f.Fd()), unix.LOOP_SET_FD, int(backing.Fd())); err == nil {
			if err = unix.IoctlLoopSetStatus64(int(f.Fd()), &unix.LoopInfo64{Flags: unix.LO_FLAGS_AUTOCLEAR}); err != nil {
				_ = unix.IoctlSetInt(int(f.Fd()), unix.LOOP_CLR_FD, 0)
			}
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("attaching %s: %w", dev, err)
	}
	return f, nil
}

// unmountDisk unmounts the filesystem of limits.disk (detached if still busy); the
// kernel frees its loop device with it.
func unmountDisk(dir string) error {
	if err := unix.Unmount(dir, 0); err != nil {
		if errors.Is(err, unix.EINVAL) { // not mounted
			return nil
		}
		return unix.Unmount(dir, unix.MNT_DETACH)
	}
	return nil
}

// diskFull reports whether the filesystem of limits.disk at dir has less than 1 MiB
// left: a step that ran into it may have written partial outputs even if it exited 0.
func diskFull(dir string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return false
	}
	return int64(st.Bavail)*int64(st.Bsize) < 1<<20
}

// errDiskFull is the failure of a step that filled limits.disk (cause: how the step
// itself ended, if it failed).
func errDiskFull(step string, size int64, cause error) error {
	how := ""
	if cause != nil {
		how = "; the step: " + cause.Error()
	}
	return hint.Wrap(fmt.Errorf("%w: step %q filled limits.disk (%s): /src, /out and /tmp are full, so its outputs may be incomplete%s",
		ErrStepFailed, step, formatSize(size), how), "raise limits.disk, or make the step write less")
}

// stepTmp makes a fresh /tmp for step i on the filesystem of limits.disk, owned by
// root's host id in the step's user namespace (root: the host id of container root),
// as a tmpfs mounted there would be.
func stepTmp(disk string, i, root int) (string, error) {
	dir := filepath.Join(disk, "tmp-"+strconv.Itoa(i))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", fmt.Errorf("%w: limits.disk: %w", ErrEnvironment, err)
	}
	if err := os.Lchown(dir, root, root); err != nil {
		return "", fmt.Errorf("%w: limits.disk: %w", ErrEnvironment, err)
	}
	// Sticky and writable by all, as a tmpfs /tmp is (chmod: the umask narrows Mkdir).
	if err := os.Chmod(dir, 0o777|os.ModeSticky); err != nil {
		return "", fmt.Errorf("%w: limits.disk: %w", ErrEnvironment, err)
	}
	return dir, nil
}

// tmpSize is the size of the /tmp tmpfs: the memory limit, or 0 when /tmp is on the
// filesystem of limits.disk.
func tmpSize(l Limits) int64 {
	if l.Disk > 0 {
		return 0
	}
	return l.Memory
}
