package builder

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"time"

	v1 "github.com/containerd/cgroups/v3/cgroup1/stats"
	v2 "github.com/containerd/cgroups/v3/cgroup2/stats"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/snapshots"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"
	"github.com/containerd/typeurl/v2"
	"github.com/slsabox/slsabox/internal/hint"
)

// StepResult is what one step did and used.
type StepResult struct {
	Name       string    `json:"name"`
	Run        []string  `json:"run"`
	ExitCode   int       `json:"exitCode"`
	StartedOn  time.Time `json:"startedOn"`
	FinishedOn time.Time `json:"finishedOn"`
	// DurationMS is wall time from container creation to removal.
	DurationMS int64 `json:"durationMs"`
	// PeakMemory is the cgroup's high-water mark of memory (bytes); 0 when the kernel did not say.
	PeakMemory uint64 `json:"peakMemoryBytes"`
	// CPUTime is user+system CPU time of every process of the step (ns).
	CPUTime   uint64 `json:"cpuTimeNs"`
	OOMKilled bool   `json:"oomKilled"`
	TimedOut  bool   `json:"timedOut"`
}

type stepRun struct {
	c           *containerd.Client
	id          string
	labels      map[string]string
	snapshotter string
	parent      string // committed snapshot to view
	sandbox     Sandbox
	ids         *idRange // the build's host ids for the user namespace; nil: none
	args, env   []string
	limits      Limits
	srcDir      string
	outDir      string
	inputsDir   string
	tmpDir      string // /tmp on the filesystem of limits.disk; "" for a tmpfs
	fifoDir     string
	stdout      io.Writer
	stderr      io.Writer
	// pod is the build's gVisor sandbox, which the step joins; nil under runc.
	pod *gvisorPod
}

// cleanupTimeout bounds the removal of a step's container after it ran or failed.
const cleanupTimeout = 30 * time.Second

// run runs the step to completion and always removes its container, task and snapshot,
// even when ctx is cancelled (Ctrl-C): cleanup uses a context of its own.
func (s *stepRun) run(ctx context.Context, res *StepResult) (err error) {
	start := time.Now()
	res.StartedOn = start.UTC()
	defer func() {
		res.FinishedOn = time.Now().UTC()
		res.DurationMS = time.Since(start).Milliseconds()
	}()
	cleanCtx := context.WithoutCancel(ctx)

	sn := s.c.SnapshotService(s.snapshotter)
	if _, err := sn.View(ctx, s.id, s.parent, snapshots.WithLabels(s.labels)); err != nil {
		return s.envErr(ctx, "creating the root file system view", err)
	}
	spec := stepSpec(s.sandbox, s.ids, s.args, s.env, s.limits,
		stepMounts(s.srcDir, s.outDir, s.inputsDir, s.tmpDir, s.sandbox.TmpSize))
	var join []containerd.NewContainerOpts // under gVisor: the shim, and the pod to join
	if s.pod != nil {
		join = []containerd.NewContainerOpts{containerd.WithRuntime(runscShim, s.pod.opts)}
		spec = append(spec, s.pod.joinAnnotations())
	}
	ctr, err := s.c.NewContainer(ctx, s.id, append([]containerd.NewContainerOpts{
		containerd.WithSnapshotter(s.snapshotter),
		containerd.WithSnapshot(s.id),
		containerd.WithContainerLabels(s.labels),
		containerd.WithNewSpec(spec...),
	}, join...)...)
	if err != nil {
		_ = sn.Remove(cleanCtx, s.id)
		return s.envErr(ctx, "creating the container", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(cleanCtx, cleanupTimeout)
		defer cancel()
		if rerr := removeContainer(cctx, ctr); rerr != nil && err == nil {
			err = fmt.Errorf("%w: step %q: cleaning up: %w", ErrEnvironment, res.Name, rerr)
		}
	}()

	exited := false // the task's exit was seen: no kill needed
	task, err := newTask(ctx, ctr, cio.NewCreator(cio.WithStreams(nil, s.stdout, s.stderr), cio.WithFIFODir(s.fifoDir)))
	if err == nil {
		// Deleting through this task object waits for its output to be copied out,
		// so that nothing reaches the log after the step is over. (Runs before the
		// container's removal above.)
		defer func() {
			cctx, cancel := context.WithTimeout(cleanCtx, cleanupTimeout)
			defer cancel()
			if !exited {
				if st, err := task.Status(cctx); err != nil || st.Status != containerd.Stopped {
					_ = task.Kill(cctx, syscall.SIGKILL, containerd.WithKillAll)
				}
			}
			_, _ = task.Delete(cctx)
		}()
	}
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
			return s.envErr(ctx, "creating the task", err) // interrupted, or containerd hung (createTimeout)
		}
		// runc refuses to start what cannot be executed: the build definition is wrong.
		res.ExitCode = -1
		return hint.Wrapf(&StepError{Step: res.Name, ExitCode: -1, Reason: "could not start: " + err.Error(), Err: ErrStepFailed},
			"check the step's run: the program must exist in the image (steps run with PATH from the image's config)")
	}
	exitCh, err := task.Wait(cleanCtx)
	if err != nil {
		return s.envErr(ctx, "waiting", err)
	}
	if err := task.Start(ctx); err != nil {
		res.ExitCode = -1
		if ctx.Err() != nil {
			return s.envErr(ctx, "starting", err)
		}
		return hint.Wrapf(&StepError{Step: res.Name, ExitCode: -1, Reason: "could not start: " + err.Error(), Err: ErrStepFailed},
			"check the step's run: the program must exist in the image (steps run with PATH from the image's config)")
	}

	timeout := time.NewTimer(s.limits.Timeout)
	defer timeout.Stop()
	poll := time.NewTicker(250 * time.Millisecond)
	defer poll.Stop()
	var (
		killedFor error
		killing   time.Time // when the step was first killed (timeout, Ctrl-C)
		killErr   error     // the last kill's failure
	)
	kill := func() {
		if killing.IsZero() {
			killing = time.Now()
		}
		killErr = killTask(cleanCtx, task)
		if errdefs.IsNotFound(killErr) {
			killErr = nil // gone already: its exit is on its way
		}
	}
	for {
		select {
		case st := <-exitCh:
			code, _, werr := st.Result()
			exited = werr == nil
			if werr != nil {
				// The daemon went away mid-step (restart): the task may live on in its shim.
				st, werr = s.rewait(ctx, ctr)
				if werr != nil {
					res.ExitCode = -1
					return werr
				}
				code, exited = st.ExitCode(), true
			}
			s.sample(cleanCtx, task, res)
			res.ExitCode = int(code)
			if res.OOMKilled || (code == 137 && killedFor == nil && res.PeakMemory >= uint64(s.limits.Memory)*95/100) {
				res.OOMKilled = true
				return hint.Wrapf(&StepError{Step: res.Name, ExitCode: res.ExitCode, Err: ErrStepFailed,
					Reason: fmt.Sprintf("killed: out of memory (limits.memory is %s)", formatSize(s.limits.Memory))},
					"raise limits.memory in slsabox.yaml if the build needs more (/tmp counts too)")
			}
			if killedFor != nil {
				return killedFor
			}
			if s.pod != nil && code == 128 {
				if err := s.pod.sandboxGone(cleanCtx, res.Name, res.ExitCode, s.limits); err != nil {
					return err
				}
			}
			if code != 0 {
				return hint.Wrapf(&StepError{Step: res.Name, ExitCode: res.ExitCode, Err: ErrStepFailed, Reason: fmt.Sprintf("exit status %d", code)},
					"the step's output is above, prefixed [%s], and in OUT.failed.log", res.Name)
			}
			return nil
		case <-poll.C:
			s.sample(cleanCtx, task, res)
			if killing.IsZero() {
				continue
			}
			// A kill can fail (containerd restarting) or not be done yet: it is sent
			// again until the task exits, and a step that outlives killGrace is an
			// environment failure, never a step left running without its limit.
			if time.Since(killing) > killGrace {
				res.ExitCode = -1
				reason := fmt.Sprintf("could not be killed within %s", killGrace)
				if killErr != nil {
					reason += ": " + killErr.Error()
				}
				return hint.Wrapf(&StepError{Step: res.Name, ExitCode: -1, Err: ErrEnvironment, Reason: reason},
					"check containerd (scripts/containerd.sh status); if the step's processes still run, slsabox sweep --all stops them")
			}
			kill()
		case <-timeout.C:
			res.TimedOut = true
			killedFor = hint.Wrapf(&StepError{Step: res.Name, ExitCode: -1, Err: ErrStepFailed,
				Reason: fmt.Sprintf("timed out after %s", s.limits.Timeout)}, "raise limits.timeout in slsabox.yaml if the build needs longer")
			kill()
		case <-ctx.Done():
			if killedFor == nil {
				killedFor = hint.Wrapf(fmt.Errorf("%w: step %q", ErrInterrupted, res.Name), "the build was cancelled and its containers removed; run it again")
				kill()
			}
			ctx = cleanCtx // keep waiting for the exit, then clean up
		}
	}
}

// killTask sends SIGKILL to every process of the task (a variable, so that a test can
// make it fail as it does while containerd restarts).
var killTask = func(ctx context.Context, task containerd.Task) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second) // a hung daemon must not stop the retries
	defer cancel()
	return task.Kill(ctx, syscall.SIGKILL, containerd.WithKillAll)
}

// killGrace bounds how long a step that must die (timeout, Ctrl-C) may take to exit
// while its kill is sent again every poll.
var killGrace = 30 * time.Second

// rewait reconnects after the daemon dropped the connection and waits again; a task
// that is gone, or whose exit was lost, is an environment failure.
func (s *stepRun) rewait(ctx context.Context, ctr containerd.Container) (containerd.ExitStatus, error) {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if ctx.Err() != nil {
			break
		}
		time.Sleep(500 * time.Millisecond)
		if ok, _ := s.c.IsServing(ctx); !ok {
			_ = s.c.Reconnect()
			continue
		}
		task, err := ctr.Task(ctx, nil)
		if err != nil {
			return containerd.ExitStatus{}, hint.Wrapf(&StepError{Step: ctr.ID(), ExitCode: -1, Err: ErrEnvironment,
				Reason: "containerd restarted and lost the step's task"}, "run the build again")
		}
		ch, err := task.Wait(ctx)
		if err != nil {
			continue
		}
		st := <-ch
		if st.Error() != nil {
			continue
		}
		return st, nil
	}
	return containerd.ExitStatus{}, hint.Wrapf(&StepError{Step: ctr.ID(), ExitCode: -1, Err: ErrEnvironment,
		Reason: "lost contact with containerd while the step ran"}, "check containerd (scripts/containerd.sh status) and run the build again")
}

// sample reads the step's cgroup counters; they only grow, so the last good sample wins.
func (s *stepRun) sample(ctx context.Context, task containerd.Task, res *StepResult) {
	m, err := task.Metrics(ctx)
	if err != nil || m == nil || m.Data == nil {
		return
	}
	v, err := typeurl.UnmarshalAny(m.Data)
	if err != nil {
		return
	}
	switch st := v.(type) {
	case *v1.Metrics:
		if mem := st.GetMemory(); mem != nil {
			// gVisor's shim reports the usage of the moment only: its samples' maximum.
			res.PeakMemory = max(res.PeakMemory, mem.GetUsage().GetMax(), mem.GetSwap().GetMax(), mem.GetUsage().GetUsage())
		}
		res.CPUTime = max(res.CPUTime, st.GetCPU().GetUsage().GetTotal())
		if st.GetMemoryOomControl().GetOomKill() > 0 {
			res.OOMKilled = true
		}
	case *v2.Metrics:
		if mem := st.GetMemory(); mem != nil {
			res.PeakMemory = max(res.PeakMemory, mem.GetMaxUsage(), mem.GetUsage())
		}
		res.CPUTime = max(res.CPUTime, st.GetCPU().GetUsageUsec()*1000)
		if st.GetMemoryEvents().GetOomKill() > 0 {
			res.OOMKilled = true
		}
	}
}

func (s *stepRun) envErr(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w: %s", ErrInterrupted, what)
	}
	return hint.Wrapf(fmt.Errorf("%w: %s: %w", ErrEnvironment, what, err), "check containerd's log; slsabox sweep removes what a failed build left")
}
