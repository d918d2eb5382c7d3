package builder

import (
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	runtimeoptions "github.com/containerd/containerd/api/types/runtimeoptions/v1"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/oci"

	"github.com/slsabox/slsabox/internal/hint"
	"github.com/slsabox/slsabox/internal/idcache"
	"github.com/slsabox/slsabox/internal/trustedpath"
)

// The runtimes steps run with (sandbox.runtime in slsabox.yaml, WithRuntime).
const (
	// RuntimeRunc runs steps with runc, on the host kernel (the default).
	RuntimeRunc = "runc"
	// RuntimeGVisor runs steps under gVisor's user-space kernel (runsc), through
	// containerd's runsc shim: a step's system calls reach gVisor's Sentry, not the
	// host kernel.
	RuntimeGVisor = "gvisor"
)

// WithRuntime runs the steps with the named runtime, RuntimeRunc or RuntimeGVisor.
// Without it, a build runs with the runtime its definition names (sandbox.runtime),
// else runc. A definition that asks for gVisor cannot be run with runc; one that asks
// for runc (or says nothing) can be run under gVisor, the stronger sandbox.
func WithRuntime(name string) Option {
	return func(c *config) error {
		if name != RuntimeRunc && name != RuntimeGVisor {
			return hint.Wrapf(fmt.Errorf("%w: runtime %q is not one slsabox knows", ErrInvalidInput, name),
				"name %s (the default) or %s", RuntimeRunc, RuntimeGVisor)
		}
		c.runtime = name
		return nil
	}
}

// WithRunsc names the runsc program gVisor steps run with: slsabox passes it to the
// shim (binary_name) and records its version. Default: runsc on $PATH.
func WithRunsc(path string) Option {
	return func(c *config) error {
		if !filepath.IsAbs(path) {
			return hint.Wrapf(fmt.Errorf("%w: runsc %q is not an absolute path", ErrInvalidInput, path), "name the runsc program by its absolute path")
		}
		c.runsc = path
		return nil
	}
}

// findRunsc returns the runsc gVisor steps run with: the one named (WithRunsc), else
// runsc on $PATH, resolved to a path without symbolic links, which the shim is then
// told to run as root: it must be a program that no other user could have replaced
// (trustedpath.Check).
func findRunsc(named string) (string, error) {
	class, fix := ErrInvalidInput, "name a runsc that only root may replace (--runsc, SLSABOX_RUNSC)"
	p := named
	if p == "" {
		class, fix = ErrEnvironment, "install runsc where only root may replace it (scripts/gvisor.sh install), and name it with SLSABOX_RUNSC or put it on PATH"
		var err error
		if p, err = exec.LookPath("runsc"); err != nil {
			return "", hint.Wrap(fmt.Errorf("%w: runsc is not on PATH: slsabox names the runsc that gVisor steps run with, and records its version", ErrEnvironment),
				"put runsc on PATH or set SLSABOX_RUNSC (eval \"$(scripts/gvisor.sh env)\" does)")
		}
	}
	real, err := filepath.EvalSymlinks(p)
	if err == nil {
		real, err = filepath.Abs(real)
	}
	if err != nil {
		return "", hint.Wrap(fmt.Errorf("%w: runsc %s: %w", class, p, err), fix)
	}
	if err := trustedpath.Check(real); err != nil {
		return "", hint.Wrap(fmt.Errorf("%w: runsc %s is not a program slsabox may have run as root: %w", class, real, err), fix)
	}
	if fi, err := os.Stat(real); err != nil || fi.Mode().Perm()&0o111 == 0 {
		return "", hint.Wrap(fmt.Errorf("%w: runsc %s is not executable", class, real), fix)
	}
	return real, nil
}

// chooseRuntime returns the runtime a build runs with: asked (WithRuntime), else the
// definition's, else runc.
func chooseRuntime(asked string, def *Definition) (string, error) {
	switch {
	case asked == RuntimeRunc && def.Runtime == RuntimeGVisor:
		return "", hint.Wrapf(fmt.Errorf("%w: %s asks for sandbox.runtime %s, and the runtime asked for is %s", ErrInvalidInput, def.File, RuntimeGVisor, RuntimeRunc),
			"run it under gVisor (--runtime %s, or leave --runtime and SLSABOX_RUNTIME unset): a build definition's sandbox is never weakened", RuntimeGVisor)
	case asked != "":
		return asked, nil
	case def.Runtime != "":
		return def.Runtime, nil
	}
	return RuntimeRunc, nil
}

// runscShim is containerd's name for gVisor's shim, the program
// containerd-shim-runsc-v1 on the daemon's PATH.
const runscShim = "io.containerd.runsc.v1"

// The annotations by which the runsc shim tells a pod's root container (the sandbox,
// which starts gVisor's Sentry) from a container that joins it. They are the ones the
// CRI plugin sets for Kubernetes pods; the shim reads nothing else.
const (
	annotationContainerType = "io.kubernetes.cri.container-type"
	annotationSandboxID     = "io.kubernetes.cri.sandbox-id"
)

// runscConfig is the shim's configuration for a build: the runsc it runs (the one
// slsabox records), and the flags it passes to every runsc command. network none:
// gVisor's network stack gets no interface but loopback, as a runc step's empty
// namespace. oci-seccomp: the step's seccomp profile is applied by the Sentry too, to
// the step's system calls (runsc ignores the spec's profile without it); the
// Sentry's own system calls to the host are filtered by gVisor's profile in any case.
func runscConfig(runsc string) string {
	return fmt.Sprintf("binary_name = %s\n\n[runsc_config]\nnetwork = \"none\"\noci-seccomp = \"true\"\n", strconv.Quote(runsc))
}

// gvisorPod is the gVisor sandbox of one build. gVisor keeps a pod's exit status only
// while its root container runs, so a step that was the root container and exited at
// once lost its status (containerd then reports 128). Each build therefore runs as a
// pod, as Kubernetes runs them: a root container that only waits (pauseProgram), and
// every step a container that joins it. The steps of one build share one Sentry; they
// already share /src and /out. The pod's user namespace is the build's id range.
type gvisorPod struct {
	id   string
	opts *runtimeoptions.Options
	ctr  containerd.Container
	task containerd.Task
}

// startPod starts the build's pod: its root container runs the pause program from a
// read-only root file system of its own, in work, with the limits and the isolation
// of a step.
func startPod(ctx context.Context, c *containerd.Client, id, work, runsc string, labels map[string]string, sb Sandbox, ids *idRange, limits Limits) (_ *gvisorPod, err error) {
	prog, err := pauseProgram(runtime.GOARCH)
	if err != nil {
		return nil, err
	}
	// gVisor's gofer, which opens the pod's root and the steps' binds for the Sentry,
	// runs as the root of the build's id range, not as host root: it may pass through
	// the work directory (root's, 0700), and only it (group: the range's root).
	if ids != nil {
		if err := reachable(filepath.Dir(work)); err != nil {
			return nil, err
		}
		if err := os.Chown(work, 0, int(ids.host(0))); err != nil {
			return nil, fmt.Errorf("%w: handing the work directory to gVisor's gofer: %w", ErrEnvironment, err)
		}
		if err := os.Chmod(work, 0o710); err != nil {
			return nil, fmt.Errorf("%w: handing the work directory to gVisor's gofer: %w", ErrEnvironment, err)
		}
	}
	root := filepath.Join(work, "pod")
	cfg := filepath.Join(work, "runsc.toml")
	if err := os.Mkdir(root, 0o755); err != nil {
		return nil, fmt.Errorf("%w: creating the pod's root: %w", ErrEnvironment, err)
	}
	if err := os.WriteFile(filepath.Join(root, "pause"), prog, 0o555); err != nil {
		return nil, fmt.Errorf("%w: writing the pod's pause program: %w", ErrEnvironment, err)
	}
	if err := os.WriteFile(cfg, []byte(runscConfig(runsc)), 0o644); err != nil {
		return nil, fmt.Errorf("%w: writing runsc's configuration: %w", ErrEnvironment, err)
	}
	p := &gvisorPod{id: id, opts: &runtimeoptions.Options{TypeUrl: "io.containerd.runsc.v1.options", ConfigPath: cfg}}
	p.ctr, err = c.NewContainer(ctx, id,
		containerd.WithContainerLabels(labels),
		containerd.WithRuntime(runscShim, p.opts),
		// A step's spec, with its limits and isolation, that runs the pause program
		// from root, and no binds.
		containerd.WithNewSpec(append(stepSpec(sb, ids, []string{"/pause"}, nil, limits, nil),
			oci.WithProcessCwd("/"),
			oci.WithRootFSPath(root),
			oci.WithAnnotations(map[string]string{annotationContainerType: "sandbox"}),
		)...),
	)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: creating the gVisor pod", ErrInterrupted)
		}
		return nil, hint.Wrapf(fmt.Errorf("%w: creating the gVisor pod: %w", ErrEnvironment, err), "check containerd's log")
	}
	defer func() {
		if err != nil {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
			defer cancel()
			_ = removeContainer(cctx, p.ctr)
		}
	}()
	if p.task, err = newTask(ctx, p.ctr, cio.NullIO); err != nil {
		return nil, gvisorStartErr(ctx, err)
	}
	if err := p.task.Start(ctx); err != nil {
		return nil, gvisorStartErr(ctx, err)
	}
	return p, nil
}

// joinAnnotations make a step's container join the pod (with runscShim and p.opts as
// its runtime).
func (p *gvisorPod) joinAnnotations() oci.SpecOpts {
	return oci.WithAnnotations(map[string]string{annotationContainerType: "container", annotationSandboxID: p.id})
}

// stop kills the pod and removes it; the steps' containers must be gone first. Once
// it succeeded it does nothing: Build stops the pod as soon as the last step is
// over, before it reads /out, and again on its way out after an earlier failure.
func (p *gvisorPod) stop(ctx context.Context) error {
	if p.ctr == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if err := removeContainer(ctx, p.ctr); err != nil {
		return fmt.Errorf("%w: removing the gVisor pod: %w", ErrEnvironment, err)
	}
	p.ctr, p.task = nil, nil
	return nil
}

// gvisorHint says what a daemon needs to run gVisor steps.
const gvisorHint = "gVisor steps need containerd 1.7 or later with containerd-shim-runsc-v1 on its PATH: scripts/gvisor.sh start runs one (pass --containerd-address $(scripts/gvisor.sh address)); in the GitHub Action, set runtime: gvisor; docs/config.md, sandbox.runtime"

// checkGVisorDaemon refuses a containerd older than 1.7: its shim protocol is not
// the one gVisor's shim speaks (it would hang, or take the shim's answer for an
// address).
func checkGVisorDaemon(ctx context.Context, c *containerd.Client) error {
	v, err := c.Version(ctx)
	if err != nil {
		return hint.Wrapf(fmt.Errorf("%w: asking containerd for its version: %w", ErrEnvironment, err), "check containerd (scripts/containerd.sh status)")
	}
	if !atLeast17(v.Version) {
		return hint.Wrap(fmt.Errorf("%w: containerd %s cannot run gVisor steps", ErrEnvironment, v.Version), gvisorHint)
	}
	return nil
}

// atLeast17 says whether a containerd version ("1.6.20~ds1", "v2.4.2") is 1.7 or
// later; one it cannot read is taken to be recent.
func atLeast17(v string) bool {
	f := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
	if len(f) < 2 {
		return true
	}
	major, err1 := strconv.Atoi(f[0])
	minor, err2 := strconv.Atoi(strings.TrimFunc(f[1], func(r rune) bool { return r < '0' || r > '9' }))
	if err1 != nil || err2 != nil {
		return true
	}
	return major > 1 || major == 1 && minor >= 7
}

func gvisorStartErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w: starting the gVisor pod", ErrInterrupted)
	}
	msg := err.Error()
	if strings.Contains(msg, "containerd-shim-runsc-v1") || strings.Contains(msg, "runsc") && strings.Contains(msg, "not found") {
		return hint.Wrap(fmt.Errorf("%w: starting the gVisor pod: %w", ErrEnvironment, err), gvisorHint)
	}
	return hint.Wrapf(fmt.Errorf("%w: starting the gVisor pod: %w", ErrEnvironment, err),
		"check containerd's log (scripts/gvisor.sh's: /run/slsabox-gvisor/containerd.log); "+gvisorHint)
}

// runscVersion names the runsc at path, the one the shim runs: its Go module version
// when it was built with go install or go build, else what runsc --version says.
// Cached under the identity of the file, as runcVersion is.
func runscVersion(ctx context.Context, path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	v, _ := idcache.New("runsc-version", nil).Get(f, func() (string, error) {
		if bi, err := buildinfo.Read(f); err == nil && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version, nil
		}
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, path, "--version").Output()
		if err != nil {
			return "", err
		}
		// "runsc version release-20260901.0\nspec: 1.1.0"
		if f := strings.Fields(strings.SplitN(string(out), "\n", 2)[0]); len(f) >= 3 {
			return f[2], nil
		}
		return "", errors.New("runsc --version said nothing readable")
	})
	return v
}

// sandboxGone returns, after a step under gVisor ended with the shim's status 128 (its
// wait failed), the step's error when the whole sandbox stopped, saying why; nil
// while the sandbox runs. gVisor enforces
// limits.memory and limits.pids only on the host cgroup of the pod, which holds the
// Sentry with every step's processes: a step that reaches either may stop the
// Sentry, and the pod's cgroup counters tell which. They are read first: the shim
// may not have noticed yet that the Sentry is gone. A stop that no counter explains
// (runsc failed, the Sentry was killed from outside) is the environment's.
func (p *gvisorPod) sandboxGone(ctx context.Context, step string, code int, limits Limits) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second) // a hung shim must not hang the build
	defer cancel()
	path := ""
	if spec, err := p.ctr.Spec(ctx); err == nil && spec.Linux != nil {
		path = spec.Linux.CgroupsPath
	}
	limitHint := "raise limits.memory or limits.pids in slsabox.yaml if the build needs more: under gVisor they hold the whole sandbox, its kernel included"
	switch {
	case path != "" && (cgroupEvent(path, "memory", "memory.oom_control", "oom_kill") > 0 || cgroupEvent(path, "memory", "memory.events", "oom_kill") > 0):
		return hint.Wrap(&StepError{Step: step, ExitCode: code, Err: ErrStepFailed,
			Reason: fmt.Sprintf("killed: out of memory (limits.memory is %s, for the whole gVisor sandbox: its kernel, the Sentry, counts too)", formatSize(limits.Memory))}, limitHint)
	case path != "" && cgroupEvent(path, "pids", "pids.events", "max") > 0:
		return hint.Wrap(&StepError{Step: step, ExitCode: code, Err: ErrStepFailed,
			Reason: fmt.Sprintf("the gVisor sandbox stopped: limits.pids (%d, for the whole sandbox: the Sentry's threads count too) refused a process or thread", limits.Pids)}, limitHint)
	}
	if st, err := p.task.Status(ctx); err == nil && st.Status == containerd.Running {
		return nil
	}
	return hint.Wrap(&StepError{Step: step, ExitCode: code, Err: ErrEnvironment,
		Reason: "the gVisor sandbox stopped (exit status 128), and no limit was reached"},
		"see the log of the containerd that ran it (scripts/gvisor.sh's: /run/slsabox-gvisor/containerd.log); run the build again")
}

// cgroupEvent reads the counter name of file in the cgroup at path (a cgroupsPath of
// the spec), under cgroup v1's controller hierarchy or cgroup v2's unified one; 0
// when it cannot be read.
func cgroupEvent(path, controller, file, name string) int64 {
	for _, dir := range []string{filepath.Join("/sys/fs/cgroup", controller, path), filepath.Join("/sys/fs/cgroup", path)} {
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) == 2 && f[0] == name {
				n, _ := strconv.ParseInt(f[1], 10, 64)
				return n
			}
		}
	}
	return 0
}

// reachable checks that every directory from dir up to / lets others pass (x), so
// that gVisor's gofer, which runs as the root of the build's id range, reaches the
// work directory inside dir.
func reachable(dir string) error {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("%w: work directory: %w", ErrEnvironment, err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return hint.Wrapf(fmt.Errorf("%w: gVisor's gofer runs as the build's host ids and cannot pass through %s (mode %v)", ErrEnvironment, d, fi.Mode().Perm()),
				"use a --work-dir that others may pass through (chmod o+x %s, or the default $TMPDIR)", d)
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}
