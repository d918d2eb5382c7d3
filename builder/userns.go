package builder

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/slsabox/slsabox/internal/hint"
)

// UsernsMode says whether steps run in a user namespace.
type UsernsMode int

const (
	// UsernsAuto runs steps in a user namespace where the kernel allows one, and
	// otherwise without, with a warning that the provenance records too.
	UsernsAuto UsernsMode = iota
	// UsernsRequire refuses to build (ErrEnvironment) where no user namespace can be made.
	UsernsRequire
	// UsernsOffUnsafe runs steps without a user namespace: the step's uid is the same
	// uid on the host. For measurements and for hosts where it breaks something.
	UsernsOffUnsafe
)

// WithUserNamespace sets whether steps run in a user namespace (default UsernsAuto).
func WithUserNamespace(m UsernsMode) Option {
	return func(c *config) error {
		if m < UsernsAuto || m > UsernsOffUnsafe {
			return fmt.Errorf("%w: unknown user namespace mode %d", ErrInvalidInput, m)
		}
		c.userns = m
		return nil
	}
}

// Every build gets idRangeSize host ids of its own: container ids 0..idRangeSize-1
// are host ids base..base+idRangeSize-1, with base = idRangeStart + slot*idRangeSize
// for one of idRangeSlots slots (2^30 to 2^30+2^26-1: above every account a system
// makes, below 2^31, where some tools take ids for negative numbers). Host root is
// in no build's map.
const (
	idRangeStart = 1 << 30
	idRangeSize  = 1 << 16
	idRangeSlots = 1 << 10
)

// idLockDir holds one lock file per slot. It is host-wide, not per containerd or per
// cache directory: host ids are shared by every build on the machine, whatever daemon
// runs it. It is under /run, which only root writes, not /run/lock, which anyone may
// write (a user could make the directory first and block every build). A variable
// for tests.
var idLockDir = "/run/slsabox-ids"

// idRange is the host id range of one build, held as long as its lock file is locked
// (flock: it ends with the process, so a crashed build's slot is free again).
type idRange struct {
	slot int
	base uint32
	lock *os.File
}

// host returns the host id of the container id id.
func (r *idRange) host(id uint32) uint32 { return r.base + id }

// last is the highest host id of the range.
func (r *idRange) last() uint32 { return r.base + idRangeSize - 1 }

func (r *idRange) String() string { return fmt.Sprintf("%d-%d", r.base, r.last()) }

// release frees the slot for another build.
func (r *idRange) release() {
	if r != nil && r.lock != nil {
		r.lock.Close() // closing the only descriptor drops the flock
		r.lock = nil
	}
}

// mapping is the uid (and gid) map of a step: container 0..65535 on the range.
func (r *idRange) mapping() []specs.LinuxIDMapping {
	return []specs.LinuxIDMapping{{ContainerID: 0, HostID: r.base, Size: idRangeSize}}
}

// withUserNamespace runs the step in a user namespace of its own mapped onto r
// (nothing when r is nil). The image is not copied or chowned: its files, owned by
// unmapped host ids, appear as the overflow id (nobody) and stay readable as they
// were for the non-root step.
func withUserNamespace(r *idRange) oci.SpecOpts {
	if r == nil {
		return func(_ context.Context, _ oci.Client, _ *containers.Container, _ *oci.Spec) error { return nil }
	}
	return oci.WithUserNamespace(r.mapping(), r.mapping())
}

// idSpan is a closed interval of ids some account or subordinate range uses.
type idSpan struct{ lo, hi uint64 }

// reservedIDs lists the ids the host gives to accounts (/etc/passwd, /etc/group) and
// to rootless containers (/etc/subuid, /etc/subgid). A missing file reserves nothing.
// Accounts only in a network directory (LDAP, sssd) are not seen: they are rarely
// above 2^30, and docs/threat-model.md says to check.
func reservedIDs() []idSpan {
	var spans []idSpan
	for _, f := range []string{"/etc/passwd", "/etc/group"} {
		eachLine(f, func(fields []string) {
			if len(fields) > 2 {
				if id, err := strconv.ParseUint(fields[2], 10, 32); err == nil {
					spans = append(spans, idSpan{id, id})
				}
			}
		})
	}
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		eachLine(f, func(fields []string) {
			if len(fields) < 3 {
				return
			}
			start, err1 := strconv.ParseUint(fields[1], 10, 32)
			n, err2 := strconv.ParseUint(fields[2], 10, 32)
			if err1 == nil && err2 == nil && n > 0 {
				spans = append(spans, idSpan{start, start + n - 1})
			}
		})
	}
	return spans
}

func eachLine(path string, fn func(fields []string)) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fn(strings.Split(line, ":"))
	}
}

// slotFree reports whether slot's ids overlap none of reserved.
func slotFree(slot int, reserved []idSpan) bool {
	lo := uint64(idRangeStart) + uint64(slot)*idRangeSize
	hi := lo + idRangeSize - 1
	for _, s := range reserved {
		if s.lo <= hi && lo <= s.hi {
			return false
		}
	}
	return true
}

// acquireIDRange locks the first slot that no other build holds and whose ids no
// account or subordinate range uses. The lock directory must be root's alone: anyone
// who could write it could hold every slot.
func acquireIDRange(dir string, reserved []idSpan) (*idRange, error) {
	if err := checkLockDir(dir); err != nil {
		return nil, err
	}
	overlapping := 0
	for slot := range idRangeSlots {
		if !slotFree(slot, reserved) {
			overlapping++
			continue
		}
		f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("slot-%04d", slot)), os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
		if err != nil {
			return nil, hint.Wrapf(fmt.Errorf("%w: user namespace id slot: %w", ErrEnvironment, err), "check %s (root's, mode 0700)", dir)
		}
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return &idRange{slot: slot, base: uint32(idRangeStart + slot*idRangeSize), lock: f}, nil
		}
		f.Close()
		if !errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: locking a user namespace id slot: %w", ErrEnvironment, err)
		}
	}
	return nil, hint.Wrapf(fmt.Errorf("%w: no free host id range for the user namespace: %d builds hold one, %d ranges overlap accounts or /etc/subuid, /etc/subgid",
		ErrEnvironment, idRangeSlots-overlapping, overlapping), "wait for other builds to end, or move the subordinate ranges that overlap %d-%d",
		idRangeStart, idRangeStart+idRangeSlots*idRangeSize-1)
}

// checkLockDir makes dir (0700) and refuses it unless it is a directory of this
// user's that nobody else may write.
func checkLockDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return hint.Wrap(fmt.Errorf("%w: user namespace id locks: %w", ErrEnvironment, err), "slsabox build runs as root")
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("%w: user namespace id locks: %w", ErrEnvironment, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok || st.Uid != uint32(os.Geteuid()) || fi.Mode().Perm()&0o022 != 0 {
		return hint.Wrapf(fmt.Errorf("%w: user namespace id locks: %s is not a directory of uid %d that only it may write", ErrEnvironment, dir, os.Geteuid()),
			"remove %s; slsabox makes it again", dir)
	}
	return nil
}

// usernsUnsupported says why this host cannot run steps in a user namespace mapped on
// r, or "" if it can. Besides the kernel's switch, read every time, it makes one: a
// child is cloned into a new user namespace with r's maps, as runc does, and then
// execs a file that does not exist. ENOENT means the namespace and its maps were
// made; an error of clone or of the map write (EPERM in a container that forbids it,
// ENOSPC at the namespace limit, EINVAL without CONFIG_USER_NS) says why not. No
// program runs, but Go clones the whole process for it (no vfork with a new user
// namespace): 5 to 15 ms here. So a success is remembered in dir (root's alone,
// checkLockDir) under the kernel's boot id, until the next boot.
func usernsUnsupported(dir string, r *idRange) string {
	b, err := os.ReadFile("/proc/sys/user/max_user_namespaces")
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "the kernel has no user namespaces (CONFIG_USER_NS)"
	case err != nil:
		return "reading /proc/sys/user/max_user_namespaces: " + err.Error()
	case strings.TrimSpace(string(b)) == "0":
		return "user namespaces are turned off (sysctl user.max_user_namespaces = 0)"
	}
	remembered := filepath.Join(dir, "probe-ok")
	boot, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if got, err := os.ReadFile(remembered); err == nil && len(boot) > 0 && bytes.Equal(got, boot) {
		return ""
	}
	m := syscall.SysProcIDMap{ContainerID: 0, HostID: int(r.base), Size: idRangeSize}
	cmd := exec.Cmd{
		Path: filepath.Join(dir, "no-such-program"),
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags:  syscall.CLONE_NEWUSER,
			UidMappings: []syscall.SysProcIDMap{m},
			GidMappings: []syscall.SysProcIDMap{m},
		},
	}
	err = cmd.Start()
	if err == nil { // something is there after all: it ran in the namespace
		_ = cmd.Wait()
	} else if !errors.Is(err, syscall.ENOENT) {
		return "making a user namespace failed: " + err.Error()
	}
	if len(boot) > 0 {
		rememberProbe(remembered, boot)
	}
	return ""
}

// rememberProbe writes boot to path whole (a temporary file renamed over it); a
// failure only means the next build probes again.
func rememberProbe(path string, boot []byte) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".probe-*")
	if err != nil {
		return
	}
	_, err = tmp.Write(boot)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
}

// usernsDecision is what a build does about the user namespace: use it, or run
// without it (with a warning), or refuse.
type usernsDecision struct {
	use     bool
	record  string // Sandbox.UserNamespace
	warning string // for the progress output; "" when none
}

// usernsRecord is Sandbox.UserNamespace of a build whose steps ran in a user namespace.
// The range's base differs between runs of the same build and says nothing of its
// isolation, so it is left out of the provenance (Result.HostIDs has it).
var usernsRecord = fmt.Sprintf("private: ids 0-%d mapped to %d host ids of this build only, none of them root", idRangeSize-1, idRangeSize)

// decideUserns turns the mode and the reason the host cannot make a user namespace
// ("" when it can) into the build's course.
func decideUserns(mode UsernsMode, unsupported string, uid uint32) (usernsDecision, error) {
	switch {
	case mode == UsernsOffUnsafe:
		return usernsDecision{record: "none: turned off by the caller",
			warning: fmt.Sprintf("warning: steps run without a user namespace (turned off): uid %d in a step is uid %d on the host", uid, uid)}, nil
	case unsupported == "":
		return usernsDecision{use: true, record: usernsRecord}, nil
	case mode == UsernsRequire:
		return usernsDecision{}, hint.Wrap(fmt.Errorf("%w: --require-userns: steps cannot run in a user namespace here: %s", ErrEnvironment, unsupported),
			"enable user namespaces (sysctl -w user.max_user_namespaces=15000; in a container, allow unshare(CLONE_NEWUSER) and the id range 2^30 to 2^30+2^26), or build without --require-userns")
	default:
		return usernsDecision{record: "none: " + unsupported,
			warning: fmt.Sprintf("warning: no user namespace (%s): uid %d in a step is uid %d on the host; the provenance records this, and --require-userns refuses such builds", unsupported, uid, uid)}, nil
	}
}

// reserveIDs picks the build's host id range (nil when user namespaces are turned
// off); release it when the build ends.
func (b *Builder) reserveIDs() (*idRange, error) {
	if b.cfg.userns == UsernsOffUnsafe {
		return nil, nil
	}
	if b.cfg.uid >= idRangeSize || b.cfg.gid >= idRangeSize {
		return nil, fmt.Errorf("%w: sandbox uid %d and gid %d must be below %d to be mapped into the user namespace",
			ErrInvalidInput, b.cfg.uid, b.cfg.gid, idRangeSize)
	}
	return acquireIDRange(idLockDir, reservedIDs())
}

// decideUserns says whether the build's steps run in a user namespace on ids.
func (b *Builder) decideUserns(ids *idRange) (usernsDecision, error) {
	why := ""
	if ids != nil {
		why = usernsUnsupported(idLockDir, ids)
	}
	return decideUserns(b.cfg.userns, why, b.cfg.uid)
}
