package builder

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slsabox/slsabox/internal/hint"
)

func TestDecideUserns(t *testing.T) {
	const why = "user namespaces are turned off (sysctl user.max_user_namespaces = 0)"
	tests := []struct {
		name        string
		mode        UsernsMode
		unsupported string
		use         bool
		record      string // prefix
		warning     string // substring; "" for none
		err         error
	}{
		{"supported", UsernsAuto, "", true, "private: ids 0-65535", "", nil},
		{"supported, required", UsernsRequire, "", true, "private: ids 0-65535", "", nil},
		{"unsupported: falls back, warns, records", UsernsAuto, why, false, "none: " + why, "warning: no user namespace (" + why + "): uid 48213 in a step is uid 48213 on the host", nil},
		{"unsupported, required: refused", UsernsRequire, why, false, "", "", ErrEnvironment},
		{"turned off", UsernsOffUnsafe, "", false, "none: turned off", "warning: steps run without a user namespace", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := decideUserns(tt.mode, tt.unsupported, defaultSandboxUID)
			if !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				if !strings.Contains(err.Error(), "--require-userns") || !strings.Contains(err.Error(), why) {
					t.Errorf("error %q should name the flag and the reason", err)
				}
				if h := hint.Of(err); !strings.Contains(h, "max_user_namespaces") {
					t.Errorf("hint %q should name the fix", h)
				}
				return
			}
			if d.use != tt.use || !strings.HasPrefix(d.record, tt.record) {
				t.Errorf("decision = %+v, want use %v, record %q...", d, tt.use, tt.record)
			}
			if (tt.warning == "") != (d.warning == "") || !strings.Contains(d.warning, tt.warning) {
				t.Errorf("warning = %q, want %q", d.warning, tt.warning)
			}
		})
	}
}

func TestAcquireIDRange(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ids")
	a, err := acquireIDRange(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := acquireIDRange(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.base != idRangeStart || b.base != idRangeStart+idRangeSize {
		t.Errorf("ranges %s and %s; want the first two slots", a, b)
	}
	if a.host(0) != 1<<30 || a.host(defaultSandboxUID) != 1<<30+48213 || a.last() != 1<<30+65535 {
		t.Errorf("range %s maps 0 to %d, 48213 to %d", a, a.host(0), a.host(defaultSandboxUID))
	}
	a.release()
	c, err := acquireIDRange(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.base != idRangeStart {
		t.Errorf("after release got %s, want the first slot again", c)
	}
	c.release()
	b.release()

	// A slot with an account's id, or part of a subordinate range, is skipped.
	reserved := []idSpan{{1<<30 + 5, 1<<30 + 5}, {1<<30 + idRangeSize + 65535, 1<<30 + 3*idRangeSize}}
	d, err := acquireIDRange(dir, reserved)
	if err != nil {
		t.Fatal(err)
	}
	defer d.release()
	if d.slot != 4 {
		t.Errorf("got slot %d (%s) beside reserved %v; want 4", d.slot, d, reserved)
	}

	// Every slot reserved: refused, naming the range.
	_, err = acquireIDRange(dir, []idSpan{{0, 1 << 32}})
	if !errors.Is(err, ErrEnvironment) || !strings.Contains(hint.Of(err), "1073741824-1140850687") {
		t.Errorf("err = %v (hint %q)", err, hint.Of(err))
	}
}

func TestIDLockDirRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ids")
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := acquireIDRange(dir, nil); !errors.Is(err, ErrEnvironment) {
		t.Errorf("a lock directory others may write: err = %v, want ErrEnvironment", err)
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(t.TempDir(), link); err != nil {
		t.Fatal(err)
	}
	if _, err := acquireIDRange(link, nil); !errors.Is(err, ErrEnvironment) {
		t.Errorf("a symlink as lock directory: err = %v, want ErrEnvironment", err)
	}
}

func TestReservedIDsOfThisHost(t *testing.T) {
	// Every account of this host is reserved, root included.
	spans := reservedIDs()
	if len(spans) == 0 {
		t.Skip("no /etc/passwd")
	}
	if slotFree(0, []idSpan{{0, 0}}) != true || slotFree(0, []idSpan{{1 << 30, 1 << 30}}) {
		t.Error("slotFree")
	}
	found := false
	for _, s := range spans {
		found = found || s.lo == 0
	}
	if !found {
		t.Errorf("root's id 0 not among %v", spans)
	}
}

// TestUsernsProbe: as root on a kernel with user namespaces the probe finds support
// and remembers it until the next boot; a map onto ids this process does not have (as
// a non-root user) is refused.
func TestUsernsProbe(t *testing.T) {
	dir := t.TempDir()
	r := &idRange{base: idRangeStart}
	why := usernsUnsupported(dir, r)
	switch {
	case os.Geteuid() != 0:
		if why == "" {
			t.Errorf("a non-root process could map %s", r)
		}
		return
	case fileSays("/proc/sys/user/max_user_namespaces", "0"):
		return
	case why != "":
		t.Fatalf("root on this host cannot make a user namespace: %s", why)
	}
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		t.Skip(err)
	}
	remembered := filepath.Join(dir, "probe-ok")
	if got, err := os.ReadFile(remembered); err != nil || string(got) != string(boot) {
		t.Errorf("probe-ok = %q (%v), want the boot id %q", got, err, boot)
	}
	// Another boot's success is not taken: the probe runs again and records this boot.
	if err := os.WriteFile(remembered, []byte("another-boot\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if why := usernsUnsupported(dir, r); why != "" {
		t.Fatal(why)
	}
	if got, _ := os.ReadFile(remembered); string(got) != string(boot) {
		t.Errorf("probe-ok = %q after probing again, want %q", got, boot)
	}
}

func fileSays(path, s string) bool {
	b, err := os.ReadFile(path)
	return err == nil && strings.TrimSpace(string(b)) == s
}

func BenchmarkUsernsProbe(b *testing.B) {
	r := &idRange{base: idRangeStart}
	b.Run("probe", func(b *testing.B) {
		for b.Loop() {
			dir := b.TempDir() // nothing remembered
			if why := usernsUnsupported(dir, r); why != "" {
				b.Skip(why)
			}
		}
	})
	b.Run("remembered", func(b *testing.B) {
		dir := b.TempDir()
		for b.Loop() {
			if why := usernsUnsupported(dir, r); why != "" {
				b.Skip(why)
			}
		}
	})
}

func BenchmarkAcquireIDRange(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "ids")
	for b.Loop() {
		r, err := acquireIDRange(dir, reservedIDs())
		if err != nil {
			b.Fatal(err)
		}
		r.release()
	}
}

// TestAcquireIDRangeOtherProcess: a slot locked by another process (flock(1) here, as
// another slsabox would) is skipped, and free again once that process is gone.
func TestAcquireIDRangeOtherProcess(t *testing.T) {
	flock, err := exec.LookPath("flock")
	if err != nil {
		t.Skip("no flock(1)")
	}
	dir := filepath.Join(t.TempDir(), "ids")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	held := exec.Command(flock, "--exclusive", filepath.Join(dir, "slot-0000"), "sleep", "60")
	held.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // flock and sleep both hold the lock
	if err := held.Start(); err != nil {
		t.Fatal(err)
	}
	killHolder := func() { _ = syscall.Kill(-held.Process.Pid, syscall.SIGKILL) }
	defer killHolder()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := acquireIDRange(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		slot := r.slot
		r.release()
		if slot == 1 {
			break // the other process holds slot 0
		}
		if time.Now().After(deadline) {
			t.Fatal("flock(1) never took slot 0")
		}
		time.Sleep(20 * time.Millisecond)
	}
	killHolder()
	_ = held.Wait()
	// The lock goes with the last of the two processes' exits, sleep's maybe a little later.
	for deadline := time.Now().Add(10 * time.Second); ; {
		r, err := acquireIDRange(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		slot := r.slot
		r.release()
		if slot == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot 0 still taken after its holder died: got %d", slot)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
