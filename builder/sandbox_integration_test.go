//go:build integration

package builder

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"google.golang.org/grpc"

	"github.com/slsabox/slsabox/internal/testenv"
)

// testNamespace keeps these tests' containerd objects apart from other packages' tests.
const testNamespace = "slsabox-test-builder"

type harness struct {
	t   *testing.T
	b   *Builder
	log *bytes.Buffer
	img string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	addr := testenv.Containerd(t)
	img := testenv.Image(t, "testbox.tar")
	log := &bytes.Buffer{}
	b, err := New(context.Background(), addr, append(runtimeOpts(), WithStepOutput(&lockedWriter{w: log}), WithNamespace(testNamespace))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return &harness{t: t, b: b, log: log, img: img}
}

// runtimeOpts run the steps with the runtime of the test run (testenv.Runtime), and
// under gVisor with SLSABOX_RUNSC as the CLI does.
func runtimeOpts() []Option {
	opts := []Option{WithRuntime(testenv.Runtime())}
	if r := os.Getenv("SLSABOX_RUNSC"); r != "" {
		opts = append(opts, WithRunsc(r))
	}
	return opts
}

// project commits a slsabox.yaml with the given steps (YAML list items) and limits.
func (h *harness) project(steps, limits string) string {
	h.t.Helper()
	def := fmt.Sprintf("version: 1\nimage: %s\nsteps:\n%s\noutputs: [\"/out/**\"]\n", h.img, steps)
	if limits != "" {
		def += "limits: " + limits + "\n"
	}
	return gitRepo(h.t, map[string]string{"slsabox.yaml": def, "README": "test project\n"})
}

func (h *harness) build(ctx context.Context, dir string) (*Result, string, error) {
	h.t.Helper()
	out := filepath.Join(h.t.TempDir(), "out")
	h.log.Reset()
	res, err := h.b.Build(ctx, Request{SourceDir: dir, OutDir: out})
	h.assertClean()
	return res, out, err
}

// assertClean fails the test if anything of a build is left in the harness's
// namespace: containers, tasks, snapshots or leases labelled by slsabox, mounts of its
// work directories, or sandbox processes (testenv.Leftovers).
func (h *harness) assertClean() {
	h.t.Helper()
	for _, l := range testenv.Leftovers(h.t, testenv.Containerd(h.t), h.b.cfg.namespace) {
		h.t.Errorf("left behind: %s", l)
	}
}

func TestSandboxBuildSucceeds(t *testing.T) {
	h := newHarness(t)
	dir := h.project(`  - name: inspect
    run: [sh, -c, "id -u; id -g; cat /proc/self/status | grep -E '^(Cap|NoNewPrivs|Seccomp)'; cat /proc/net/dev; env; touch /src/written-in-src"]
  - name: make
    run: [sh, -c, "mkdir -p /out/bin && echo hello > /out/bin/hello && echo $SOURCE_DATE_EPOCH > /out/epoch"]
    env: {GREETING: hi}`, "")
	res, out, err := h.build(context.Background(), dir)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, h.log)
	}
	log := h.log.String()
	for _, want := range []string{
		fmt.Sprintf("[inspect] %d\n[inspect] %d\n", defaultSandboxUID, defaultSandboxUID),
		"CapEff:\t0000000000000000", "CapBnd:\t0000000000000000", "CapAmb:\t0000000000000000",
		"NoNewPrivs:\t1", "Seccomp:\t2", "[inspect] HOME=/tmp", "[inspect] PATH=/bin",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	// Only lo in the network namespace, and the host's environment stays out.
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, ":") && strings.Contains(l, "[inspect]") && strings.Contains(l, "|") {
			continue
		}
		if strings.HasPrefix(l, "[inspect] ") && strings.Contains(l, ": ") && !strings.Contains(l, "lo:") && strings.Count(l, " ") > 10 {
			t.Errorf("network interface other than lo: %s", l)
		}
	}
	if strings.Contains(log, "GREETING") {
		t.Errorf("step env leaked into another step")
	}
	for _, v := range []string{"USER=", "SSH_", "GOPATH=", "CI="} {
		if strings.Contains(log, "[inspect] "+v) {
			t.Errorf("host variable %s reached the sandbox", v)
		}
	}
	if len(res.Subjects) != 2 || res.Subjects[0].Name != "bin/hello" || res.Subjects[1].Name != "epoch" {
		t.Fatalf("subjects = %+v", res.Subjects)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "epoch")); strings.TrimSpace(string(b)) != fmt.Sprint(res.Source.CommitTime.Unix()) {
		t.Errorf("SOURCE_DATE_EPOCH = %q, commit time %d", b, res.Source.CommitTime.Unix())
	}
	if _, err := os.Stat(filepath.Join(out, "build.log")); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "written-in-src")); !os.IsNotExist(err) {
		t.Error("a step wrote into the user's repository")
	}
	// gVisor's shim reports a container's usage only while it runs: a step shorter
	// than one poll (250 ms) records none there.
	if !testenv.GVisor() && (res.Steps[0].PeakMemory == 0 || res.Steps[0].CPUTime == 0) {
		t.Errorf("no resource usage: %+v", res.Steps[0])
	}
	version := res.Runtime.Runc // what ran the steps
	if testenv.GVisor() {
		version = res.Runtime.Runsc
	}
	if res.Image.ManifestDigest == "" || res.Runtime.Containerd == "" || version == "" || res.LogSHA256 == "" || res.Sandbox.Runtime != testenv.Runtime() {
		t.Errorf("result incomplete: image %+v runtime %+v sandbox %+v log %q", res.Image, res.Runtime, res.Sandbox, res.LogSHA256)
	}
}

// TestSandboxHostile runs each hostile step of DESIGN.md section 8 and checks that it is
// contained, fails the build with a clear reason, and leaves nothing behind.
func TestSandboxHostile(t *testing.T) {
	h := newHarness(t)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var connections atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			connections.Add(1)
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port

	secret := filepath.Join(t.TempDir(), "host-secret")
	if err := os.WriteFile(secret, []byte("TOPSECRET-"+randomID()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Dir(secret), 0o755); err != nil {
		t.Fatal(err)
	}
	// Not under /tmp: the sandbox has a /tmp of its own, and writing there is allowed.
	outside := filepath.Join("/var/tmp", "slsabox-escape-"+randomID())

	tests := []struct {
		name    string
		steps   string
		limits  string
		wantErr error
		reason  string // in the error
		logHas  string // in the build log, ignoring case: an errno's text, not one tool's wording
		maxTime time.Duration
		pidsMax bool // the pids limit must have refused a fork or a thread
		// Under gVisor, where they differ: another reason or log text that is
		// accepted as well.
		gvReason, gvLogHas string
	}{
		{"network to host listener", fmt.Sprintf(`  - name: net
    run: [sh, -c, "nc -w 3 127.0.0.1 %d </dev/null && echo CONNECTED; cat /proc/net/dev; exit 1"]`, port),
			"", ErrStepFailed, "exit status 1", "lo:", 0, false, "", ""},
		{"read host file", fmt.Sprintf(`  - name: read
    run: [sh, -c, "cat %s /proc/1/root%s"]`, secret, secret), "", ErrStepFailed, "exit status 1", "no such file or directory", 0, false, "", ""},
		{"write outside /out", fmt.Sprintf(`  - name: write
    run: [sh, -c, "echo pwned > %s; echo pwned > /src/../pwned; echo pwned > /etc/pwned"]`, outside), "", ErrStepFailed, "exit status 1", "read-only file system", 0, false,
			// gVisor checks the permission before the read-only mount.
			"", "permission denied"},
		{"setuid escalation", `  - name: suid
    run: [sh, -c, "u=$(/bin/suidbox id -u); echo euid=$u; test \"$u\" = 0"]`, "", ErrStepFailed, "exit status 1", "euid=48213", 0, false, "", ""},
		{"mount", `  - name: mount
    run: [sh, -c, "mount -t tmpfs none /tmp || mount -o remount,rw / "]`, "", ErrStepFailed, "exit status", "operation not permitted", 0, false, "", ""},
		// Every shell starts two more and waits for them, so the tree grows until the
		// pids limit refuses a fork (or a Go runtime thread); sleep holds the step open
		// until the timeout. Each sh is a process of its own: the functions of an
		// in-process interpreter would not fork.
		{"fork bomb", `  - name: bomb
    run: [sh, -c, "echo 'sh /tmp/b & sh /tmp/b; wait' > /tmp/b; sh /tmp/b & sleep 600"]`, "{pids: 64, timeout: 4s}", ErrStepFailed, "timed out after 4s", "", 30 * time.Second, true,
			// Under gVisor the limit holds the whole sandbox, which it may stop.
			"limits.pids (64", ""},
		{"memory hog", `  - name: hog
    run: [dd, if=/dev/zero, of=/dev/null, bs=512M, count=1]`, "{memory: 64MiB}", ErrStepFailed, "out of memory", "", 0, false, "", ""},
		{"endless sleep", `  - name: sleep
    run: [sleep, "1000"]`, "{timeout: 2s}", ErrStepFailed, "timed out after 2s", "", 20 * time.Second, false, "", ""},
		{"symlink output", `  - name: link
    run: [ln, -s, /etc/passwd, /out/passwd]`, "", ErrOutputRejected, "/out/passwd is a symlink", "", 0, false, "", ""},
		{"hardlink output", `  - name: hard
    run: [sh, -c, "echo a > /out/a && ln /out/a /out/b"]`, "", ErrOutputRejected, "hard link", "", 0, false, "", ""},
		{"device output", `  - name: dev
    run: [mknod, /out/null, c, "1", "3"]`, "", ErrStepFailed, "exit status 1", "operation not permitted", 0, false, "", ""},
		{"fifo output", `  - name: fifo
    run: [mkfifo, /out/pipe]`, "", ErrOutputRejected, "named pipe", "", 0, false,
			// gVisor keeps a pipe in its own kernel: none reaches the host's /out.
			"no file in /out matches", ""},
		{"setuid output", `  - name: suidout
    run: [sh, -c, "cp /bin/sh /out/sh && chmod 4755 /out/sh"]`, "", ErrOutputRejected, "/out/sh is setuid", "", 0, false, "", ""},
		{"missing program", `  - name: missing
    run: [/no/such/program]`, "", ErrStepFailed, "could not start", "", 0, false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.t = t
			reasons, logHas := []string{tt.reason}, []string{tt.logHas}
			if testenv.GVisor() && tt.gvReason != "" {
				reasons = append(reasons, tt.gvReason)
			}
			if testenv.GVisor() && tt.gvLogHas != "" {
				logHas = append(logHas, tt.gvLogHas)
			}
			dir := h.project(tt.steps, tt.limits)
			start := time.Now()
			var refused atomic.Int64
			refused.Store(-1)
			watching := make(chan struct{})
			done := make(chan struct{})
			if tt.pidsMax {
				go func() {
					defer close(done)
					for {
						if n, ok := pidsLimitRefusals(); ok {
							refused.Store(max(refused.Load(), n))
						}
						select {
						case <-watching:
							return
						case <-time.After(50 * time.Millisecond):
						}
					}
				}()
			} else {
				close(done)
			}
			_, out, err := h.build(context.Background(), dir)
			close(watching)
			<-done
			if tt.pidsMax {
				switch n := refused.Load(); {
				case n < 0:
					t.Errorf("never found the step's pids cgroup (pids.events) while it ran")
				case n == 0:
					t.Errorf("the pids limit never refused a fork: the bomb did not fork\nlog:\n%s", h.log)
				default:
					t.Logf("the pids limit refused %d forks or threads", n)
				}
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v\nlog:\n%s", err, tt.wantErr, h.log)
			}
			if !slices.ContainsFunc(reasons, func(r string) bool { return strings.Contains(err.Error(), r) }) {
				t.Errorf("err = %q, want it to say one of %q\nlog:\n%s", err, reasons, h.log)
			}
			if tt.logHas != "" && !slices.ContainsFunc(logHas, func(l string) bool {
				return l != "" && strings.Contains(strings.ToLower(h.log.String()), strings.ToLower(l))
			}) {
				t.Errorf("log lacks %q:\n%s", logHas, h.log)
			}
			if tt.maxTime > 0 && time.Since(start) > tt.maxTime {
				t.Errorf("took %s, limit %s", time.Since(start), tt.maxTime)
			}
			if strings.Contains(h.log.String(), "TOPSECRET") || strings.Contains(h.log.String(), "CONNECTED") {
				t.Errorf("the step reached the host:\n%s", h.log)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("a failed build published %s", out)
			}
			if _, err := os.Stat(out + ".failed.log"); err != nil {
				t.Errorf("failed build kept no log: %v", err)
			}
		})
	}
	if n := connections.Load(); n != 0 {
		t.Errorf("the host listener got %d connections from the sandbox", n)
	}
	if _, err := os.Stat(outside); !os.IsNotExist(err) {
		t.Errorf("a step wrote %s on the host", outside)
	}
}

func TestSandboxInterrupted(t *testing.T) {
	h := newHarness(t)
	dir := h.project(`  - name: long
    run: [sleep, "600"]`, "")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(1500*time.Millisecond, cancel)
	start := time.Now()
	_, _, err := h.build(ctx, dir)
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("err = %v, want ErrInterrupted", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("cancellation took %s", d)
	}
}

// TestSandboxInterruptedCreatingTask cancels a build while containerd creates a task
// (the step's, or under gVisor the pod's): a gRPC interceptor cancels the build 50 ms
// into the first task creation. slsabox must let that creation finish (cut short, it
// left the step's root file system mounted in containerd's state with containerd
// 1.6, and a shim running that nothing finds again), then stop promptly with
// ErrInterrupted and leave no container, mount or shim behind.
func TestSandboxInterruptedCreatingTask(t *testing.T) {
	var (
		cancelBuild    context.CancelFunc
		creates, cut   atomic.Int32
		createInFlight = "/containerd.services.tasks.v1.Tasks/Create"
		cancelledAt    = make(chan time.Time, 1)
		midCall        atomic.Bool // the cancel came while the creation ran
	)
	extraDialOpts = []grpc.DialOption{grpc.WithUnaryInterceptor(func(ctx context.Context, method string, req, reply any,
		cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if method != createInFlight || creates.Add(1) > 1 {
			return invoker(ctx, method, req, reply, cc, opts...)
		}
		done := make(chan error, 1)
		go func() { done <- invoker(ctx, method, req, reply, cc, opts...) }()
		select {
		case err := <-done:
			cancelledAt <- time.Now()
			cancelBuild() // too quick to catch mid-call; the test then checks less
			return err
		case <-time.After(50 * time.Millisecond):
		}
		midCall.Store(true)
		cancelledAt <- time.Now()
		cancelBuild()
		err := <-done
		if ctx.Err() != nil {
			cut.Add(1)
		}
		return err
	})}
	t.Cleanup(func() { extraDialOpts = nil })
	h := newHarness(t)
	shimsBefore := shims(t)
	dir := h.project(`  - name: long
    run: [sleep, "600"]`, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cancelBuild = cancel
	if _, _, err := h.build(ctx, dir); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("err = %v, want ErrInterrupted", err)
	}
	// A task that was created but never started has no exit to wait for (under
	// runsc): the build must not sit out removeContainer's 10 s for one.
	select {
	case at := <-cancelledAt:
		if d := time.Since(at); d > 5*time.Second {
			t.Errorf("the build took %s to stop after the cancel", d)
		} else {
			t.Logf("the build stopped %s after the cancel (mid-call: %v)", d.Round(time.Millisecond), midCall.Load())
		}
	default:
	}
	if creates.Load() == 0 {
		t.Fatal("no task was created: the interceptor saw no " + createInFlight)
	}
	if cut.Load() != 0 {
		t.Errorf("the task's creation was cancelled mid-call")
	}
	if ctrs, err := h.b.c.Containers(h.b.ctx(context.Background())); err != nil || len(ctrs) != 0 {
		t.Errorf("left %d containers (%v)", len(ctrs), err)
	}
	// The shims exit once their tasks are deleted, a moment after.
	var left []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		left = slices.DeleteFunc(shims(t), func(s string) bool { return slices.Contains(shimsBefore, s) })
		if len(left) == 0 {
			break
		}
	}
	if len(left) != 0 {
		t.Errorf("shims left running: %q", left)
	}
}

// shims lists the shim processes (runc's or runsc's) of testNamespace, as pid and
// command line.
func shims(t *testing.T) []string {
	t.Helper()
	procs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // gone
		}
		cmd := strings.ReplaceAll(string(b), "\x00", " ")
		if strings.Contains(cmd, "containerd-shim") && strings.Contains(cmd, "-namespace "+testNamespace+" ") {
			out = append(out, filepath.Base(filepath.Dir(p))+" "+cmd)
		}
	}
	return out
}

// TestSandboxSweepAfterCrash kills a real slsabox process mid-step with SIGKILL (nothing
// runs its cleanup), then checks that Sweep removes what it left.
func TestSandboxSweepAfterCrash(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "slsabox")
	build := exec.Command("go", "build", "-o", bin, "github.com/slsabox/slsabox/cmd/slsabox")
	build.Env = append(os.Environ(), "CGO_ENABLED=0") // static, as released
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// With limits.disk the dead build also leaves its filesystem mounted on a loop
	// device: the sweep unmounts it (and the kernel frees the loop device).
	for _, limits := range []string{"", "{disk: 64MiB}"} {
		t.Run("limits "+limits, func(t *testing.T) { sweepAfterCrash(t, bin, limits) })
	}
}

func sweepAfterCrash(t *testing.T, bin, limits string) {
	h := newHarness(t)
	dir := h.project(`  - name: long
    run: [sleep, "600"]`, limits)
	cmd := exec.Command(bin, "build", dir, "--unsigned", "-o", filepath.Join(t.TempDir(), "out"), "--namespace", testNamespace,
		"--containerd-address", testenv.Containerd(t))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ctx := h.b.ctx(context.Background())
	deadline := time.Now().Add(20 * time.Second)
	// Mid-step: the step's task runs. (Killed while containerd still creates the task,
	// slsabox would leave a task that appears after any sweep that runs at once.)
	for running := false; !running; {
		ctrs, _ := h.b.c.Containers(ctx)
		for _, c := range ctrs {
			if strings.HasSuffix(c.ID(), "-pod") {
				continue // under gVisor: the build's pod, which runs before the step
			}
			if task, err := c.Task(ctx, nil); err == nil {
				st, err := task.Status(ctx)
				running = err == nil && st.Status == containerd.Running
			}
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("the build never started its step:\n%s", stderr.String())
		}
		if !running {
			time.Sleep(100 * time.Millisecond)
		}
	}
	time.Sleep(300 * time.Millisecond)
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	rep, err := h.b.Sweep(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	want := 1 // the step's container
	if testenv.GVisor() {
		want = 2 // and the build's gVisor pod
	}
	if rep.Containers != want || rep.Leases != 1 {
		t.Errorf("sweep removed %+v, want %d containers and 1 lease", rep, want)
	}
	h.assertClean()
}

// TestSandboxContainerdRestart restarts the daemon while a step runs: the build must
// either finish (the task lives on in its shim) or fail as an environment error.
func TestSandboxContainerdRestart(t *testing.T) {
	script := filepath.Join(testenv.RepoRoot(t), "scripts", "containerd.sh")
	if testenv.GVisor() {
		script = filepath.Join(testenv.RepoRoot(t), "scripts", "gvisor.sh") // the daemon of the gVisor pass
	}
	if os.Getenv("SLSABOX_TEST_RESTART") == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("SLSABOX_TEST_RESTART is not set: scripts/test.sh sets it for the private containerd")
		}
		t.Skip("set SLSABOX_TEST_RESTART=1 to let this test restart the private containerd")
	}
	h := newHarness(t)
	dir := h.project(`  - name: slow
    run: [sh, -c, "sleep 4; echo done > /out/done"]`, "")
	go func() {
		time.Sleep(1500 * time.Millisecond)
		if out, err := exec.Command(script, "restart").CombinedOutput(); err != nil {
			t.Errorf("restart: %v\n%s", err, out)
		}
	}()
	res, _, err := h.build(context.Background(), dir)
	if err != nil && !errors.Is(err, ErrEnvironment) {
		t.Fatalf("err = %v, want success or ErrEnvironment", err)
	}
	if err == nil && (len(res.Subjects) != 1 || res.Steps[0].ExitCode != 0) {
		t.Fatalf("result after restart: %+v", res)
	}
	t.Logf("after a containerd restart mid-step: err=%v", err)
}

// pidsLimitRefusals returns the largest "max" count of pids.events (forks and
// threads the pids limit refused) among the cgroups of this test namespace's
// containers, and whether it found one (cgroup v1 pids hierarchy or v2).
func pidsLimitRefusals() (int64, bool) {
	best, found := int64(0), false
	matches, _ := filepath.Glob("/proc/[0-9]*/cgroup")
	for _, m := range matches {
		b, err := os.ReadFile(m)
		if err != nil || !strings.Contains(string(b), "/"+testNamespace+"/") {
			continue
		}
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			parts := strings.SplitN(l, ":", 3)
			if len(parts) != 3 || !strings.Contains(parts[2], "/"+testNamespace+"/") {
				continue
			}
			var f string
			switch {
			case parts[1] == "pids":
				f = filepath.Join("/sys/fs/cgroup/pids", parts[2], "pids.events")
			case parts[0] == "0" && parts[1] == "":
				f = filepath.Join("/sys/fs/cgroup", parts[2], "pids.events")
			default:
				continue
			}
			ev, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			for _, e := range strings.Split(string(ev), "\n") {
				var n int64
				if _, err := fmt.Sscanf(e, "max %d", &n); err == nil {
					best, found = max(best, n), true
				}
			}
		}
	}
	return best, found
}
