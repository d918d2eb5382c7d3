//go:build integration

package builder

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSandboxLimits runs hostile steps that the newer defences stop, and checks what
// slsabox guarantees (not what one kernel prints): each fails without its defence.
func TestSandboxLimits(t *testing.T) {
	h := newHarness(t)

	// Two shells spin for 3 s each, on a 2-CPU machine up to 6 CPU-seconds; with
	// cpus: 0.5 the cgroup gets at most half a CPU-second per second of the step.
	t.Run("spin every core", func(t *testing.T) {
		h.t = t
		dir := h.project(`  - name: spin
    run: [sh, -c, "sh -c 'while :; do :; done' & sh -c 'while :; do :; done' & sleep 3; echo spun > /out/x"]`, "{cpus: 0.5}")
		res, _, err := h.build(context.Background(), dir)
		if err != nil {
			t.Fatalf("build: %v\n%s", err, h.log)
		}
		s := res.Steps[0]
		wall := time.Duration(s.DurationMS) * time.Millisecond
		cpu := time.Duration(s.CPUTime)
		t.Logf("step ran %s and used %s of CPU (quota 0.5 CPU)", wall, cpu)
		// A CFS period may overrun a little; the unthrottled step uses about 2x wall here.
		if limit := wall*6/10 + 100*time.Millisecond; cpu > limit {
			t.Errorf("CPU time %s over the quota's %s for %s of wall time", cpu, limit, wall)
		}
		if res.Limits.CPUs != 0.5 {
			t.Errorf("limits.cpus recorded as %v", res.Limits.CPUs)
		}
	})

	// A step that prints without end: the log keeps log_size bytes and a marker, the
	// build succeeds, and the published log is what was kept.
	t.Run("print without end", func(t *testing.T) {
		h.t = t
		dir := h.project(`  - name: flood
    run: [sh, -c, "cat /dev/zero & sleep 2; echo done > /out/x"]`, "{log_size: 256KiB}")
		res, out, err := h.build(context.Background(), dir)
		if err != nil {
			t.Fatalf("build: %v", err)
		}
		log, err := os.ReadFile(filepath.Join(out, "build.log"))
		if err != nil {
			t.Fatal(err)
		}
		if len(log) > 256<<10+512 {
			t.Errorf("build.log is %d bytes, over log_size 256KiB", len(log))
		}
		if !strings.Contains(string(log), "slsabox: the build log reached limits.log_size (256KiB)") {
			t.Errorf("build.log has no truncation marker (%d bytes, ends %q)", len(log), log[max(0, len(log)-200):])
		}
		if res.Limits.LogSizeBytes != 256<<10 {
			t.Errorf("limits.logSizeBytes recorded as %d", res.Limits.LogSizeBytes)
		}
	})

	// The core-dump limit is 0 whatever the daemon's limit is, and a process that aborts
	// with a dumping signal leaves no core in /src or /out.
	t.Run("core dump", func(t *testing.T) {
		h.t = t
		dir := h.project(`  - name: crash
    run: [sh, -c, "grep -i 'core file' /proc/self/limits > /out/limits; cd /out; sh -c 'kill -6 $$'; echo abrt $? > /out/status; cd /src; sh -c 'kill -6 $$'; echo abrt $? >> /out/status; ls /src /out > /out/files"]
    env: {GOTRACEBACK: crash}`, "")
		res, out, err := h.build(context.Background(), dir)
		if err != nil {
			t.Fatalf("build: %v\n%s", err, h.log)
		}
		limits, _ := os.ReadFile(filepath.Join(out, "limits"))
		if f := strings.Fields(string(limits)); len(f) < 6 || f[4] != "0" || f[5] != "0" {
			t.Errorf("RLIMIT_CORE in the step is not 0 0: %q", limits)
		}
		// GOTRACEBACK=crash: the Go program aborts the way that dumps core (SIGABRT,
		// 128+6), so the attempt really happens.
		if status, _ := os.ReadFile(filepath.Join(out, "status")); string(status) != "abrt 134\nabrt 134\n" {
			t.Errorf("the crashing processes did not abort: %q\n%s", status, h.log)
		}
		files, _ := os.ReadFile(filepath.Join(out, "files"))
		if strings.Contains(string(files), "core") {
			t.Errorf("a core file was written:\n%s", files)
		}
		if res.Sandbox.CoreDumps != "disabled" {
			t.Errorf("sandbox.coreDumps recorded as %q", res.Sandbox.CoreDumps)
		}
	})

	// In a cgroup namespace of its own the step sees its cgroup as the root: no path of
	// the host's hierarchy, the namespace or another container's id.
	t.Run("cgroup namespace", func(t *testing.T) {
		h.t = t
		dir := h.project(`  - name: cgroup
    run: [sh, -c, "cat /proc/self/cgroup > /out/cgroup"]`, "")
		res, out, err := h.build(context.Background(), dir)
		if err != nil {
			t.Fatalf("build: %v\n%s", err, h.log)
		}
		b, _ := os.ReadFile(filepath.Join(out, "cgroup"))
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		for _, l := range lines {
			// hierarchy-ID:controllers:path; the path is "/" in a private namespace.
			if i := strings.LastIndexByte(l, ':'); i < 0 || l[i+1:] != "/" {
				t.Errorf("/proc/self/cgroup shows a host path: %q", l)
			}
		}
		if len(lines) == 0 || strings.Contains(string(b), testNamespace) {
			t.Errorf("/proc/self/cgroup: %q", b)
		}
		if res.Sandbox.CgroupNamespace != "private" {
			t.Errorf("sandbox.cgroupNamespace recorded as %q", res.Sandbox.CgroupNamespace)
		}
	})
}

// TestSandboxDisk: with limits.disk, /src, /out and /tmp share a filesystem of that
// size. A step that writes until it is full fails with the reason (even one that
// ignores the error and exits 0), nothing is published, and the filesystem and its
// loop device are gone afterwards (assertClean: no mount of the work directory).
func TestSandboxDisk(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		name, run string
		fails     bool
	}{
		{"writes until full", `[dd, if=/dev/zero, of=/out/big, bs=1048576, count=512]`, true},
		{"fills /tmp and exits 0", `[sh, -c, "dd if=/dev/zero of=/tmp/big bs=1048576 count=512; echo done > /out/x; exit 0"]`, true},
		{"within the quota", `[sh, -c, "dd if=/dev/zero of=/tmp/a bs=1048576 count=8 && dd if=/dev/zero of=/out/b bs=1048576 count=8"]`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			dir := h.project("  - name: fill\n    run: "+tc.run, "{disk: 64MiB}")
			res, out, err := h.build(context.Background(), dir)
			if !tc.fails {
				if err != nil {
					t.Fatalf("build: %v\n%s", err, h.log)
				}
				if res.Limits.DiskBytes != 64<<20 || res.Sandbox.TmpSize != 0 {
					t.Errorf("recorded limits.diskBytes %d, sandbox.tmpSize %d", res.Limits.DiskBytes, res.Sandbox.TmpSize)
				}
				return
			}
			if !errors.Is(err, ErrStepFailed) || !strings.Contains(err.Error(), "filled limits.disk (64MiB)") {
				t.Fatalf("err = %v, want the step to fail for filling limits.disk\n%s", err, h.log)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("a build that filled its disk published %s", out)
			}
		})
	}
}

// TestLoopMountAutoclear: the filesystem of limits.disk is mounted from a loop device
// that the kernel detaches when it is unmounted (LO_FLAGS_AUTOCLEAR), so that no
// build leaves a loop device behind: one at a time, four at once (each its own
// device), and without /dev/loop-control (a container given loop devices alone).
func TestLoopMountAutoclear(t *testing.T) {
	t.Run("one", func(t *testing.T) { checkLoopMount(t, t.TempDir(), func() {}) })
	t.Run("four at once", func(t *testing.T) {
		// All four are mounted before any is unmounted: a device freed by one may
		// be taken by the next, but two mounted at once never share one.
		var mounted, wg sync.WaitGroup
		mounted.Add(4)
		devs := make([]string, 4)
		for i := range devs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				devs[i] = checkLoopMount(t, t.TempDir(), func() { mounted.Done(); mounted.Wait() })
			}()
		}
		wg.Wait()
		slices.Sort(devs)
		if len(slices.Compact(slices.Clone(devs))) != len(devs) {
			t.Errorf("four filesystems mounted at once shared loop devices: %v", devs)
		}
	})
	t.Run("without loop-control", func(t *testing.T) {
		saved := loopControl
		loopControl = filepath.Join(t.TempDir(), "no-loop-control")
		t.Cleanup(func() { loopControl = saved })
		checkLoopMount(t, t.TempDir(), func() {})
	})
}

// checkLoopMount mounts a limits.disk filesystem in dir, checks how it is mounted,
// calls mounted, unmounts it and waits for its loop device to be detached; it returns
// the device. Safe to call from several goroutines (it reports with t.Errorf).
func checkLoopMount(t *testing.T, dir string, mounted func()) string {
	signalled := false
	signal := func() {
		if !signalled {
			signalled = true
			mounted()
		}
	}
	defer signal() // on every early return too: the others wait for it
	mnt, err := mountDisk(context.Background(), dir, 16<<20)
	if err != nil {
		t.Errorf("mountDisk: %v", err)
		return ""
	}
	isMounted := true
	defer func() {
		if isMounted {
			_ = unmountDisk(mnt)
		}
	}()
	var dev string
	mounts, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		t.Error(err)
		return ""
	}
	for _, l := range strings.Split(string(mounts), "\n") {
		if f := strings.Fields(l); len(f) > 3 && f[1] == mnt {
			dev = f[0]
			if f[2] != "ext4" || !strings.Contains(","+f[3]+",", ",nosuid,") || !strings.Contains(","+f[3]+",", ",nodev,") {
				t.Errorf("mounted as %q", l)
			}
		}
	}
	if !strings.HasPrefix(dev, "/dev/loop") {
		t.Errorf("%s is not mounted from a loop device (%q)", mnt, dev)
		return dev
	}
	backing := filepath.Join("/sys/block", filepath.Base(dev), "loop", "backing_file")
	if b, err := os.ReadFile(backing); err != nil || strings.TrimSpace(string(b)) != filepath.Join(dir, "disk.img") {
		t.Errorf("%s: backing file %q (%v), want %s", dev, b, err, filepath.Join(dir, "disk.img"))
	}
	if err := os.WriteFile(filepath.Join(mnt, "x"), []byte("x"), 0o600); err != nil {
		t.Errorf("writing to the filesystem: %v", err)
	}
	signal()
	isMounted = false
	if err := unmountDisk(mnt); err != nil {
		t.Errorf("unmountDisk: %v", err)
		return dev
	}
	// The kernel may detach the device a moment after the unmount.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		b, err := os.ReadFile(backing)
		if os.IsNotExist(err) || (err == nil && !strings.Contains(string(b), dir)) {
			return dev
		}
		if time.Now().After(deadline) {
			t.Errorf("%s still attached to %q after the unmount", dev, b)
			return dev
		}
	}
}
