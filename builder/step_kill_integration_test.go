//go:build integration

package builder

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
)

// failKills makes the first n kills fail (n < 0: every kill), as they do while
// containerd restarts, and returns how many were tried.
func failKills(t *testing.T, n int) *atomic.Int32 {
	var tried atomic.Int32
	orig := killTask
	killTask = func(ctx context.Context, task containerd.Task) error {
		if i := tried.Add(1); n < 0 || int(i) <= n {
			return errors.New("connection refused (containerd restarting)")
		}
		return orig(ctx, task)
	}
	t.Cleanup(func() { killTask = orig })
	return &tried
}

// TestTimeoutKillRetried: a kill that fails at the timeout is sent again until the
// step is gone; the step fails for its timeout, not running on without a limit.
func TestTimeoutKillRetried(t *testing.T) {
	h := newHarness(t)
	tried := failKills(t, 3)
	dir := h.project(`  - name: forever
    run: [sleep, "60"]`, "{timeout: 1s}")
	start := time.Now()
	_, _, err := h.build(context.Background(), dir)
	var se *StepError
	if !errors.As(err, &se) || !errors.Is(err, ErrStepFailed) || !strings.Contains(se.Reason, "timed out") {
		t.Fatalf("err = %v, want the step timed out", err)
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("the step ran %s after a 1s timeout", took)
	}
	if tried.Load() < 4 {
		t.Errorf("%d kills tried, want the failed ones retried", tried.Load())
	}
}

// TestTimeoutKillFails: a step that cannot be killed fails as an environment error
// within killGrace.
func TestTimeoutKillFails(t *testing.T) {
	h := newHarness(t)
	failKills(t, -1)
	orig := killGrace
	killGrace = 2 * time.Second
	t.Cleanup(func() { killGrace = orig })
	dir := h.project(`  - name: forever
    run: [sleep, "60"]`, "{timeout: 1s}")
	start := time.Now()
	_, _, err := h.build(context.Background(), dir)
	if !errors.Is(err, ErrEnvironment) || !strings.Contains(err.Error(), "could not be killed") {
		t.Fatalf("err = %v, want an environment error", err)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("took %s", took)
	}
}
