package builder

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/pkg/namespaces"
)

// TestImageLock: a second build of the same image in the same namespace waits for the
// first to unlock (and gives up with ErrInterrupted when cancelled); another namespace
// or another image does not wait; taking the lock again in one resolve is a no-op.
func TestImageLock(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "locks")
	ns := func(name string) context.Context { return namespaces.WithNamespace(context.Background(), name) }
	first := newImageLock(ns("a"), dir, "sha256:1")
	if took, err := first.lock(ns("a")); !took || err != nil {
		t.Fatalf("first lock: %v, %v", took, err)
	}
	if took, err := first.lock(ns("a")); took || err != nil {
		t.Fatalf("locking again: %v, %v; want a no-op", took, err)
	}
	for name, other := range map[string]*imageLock{
		"other namespace": newImageLock(ns("b"), dir, "sha256:1"),
		"other image":     newImageLock(ns("a"), dir, "sha256:2"),
	} {
		if took, err := other.lock(ns("a")); !took || err != nil {
			t.Errorf("%s: %v, %v; want it taken at once", name, took, err)
		}
		other.unlock()
	}

	second := newImageLock(ns("a"), dir, "sha256:1")
	ctx, cancel := context.WithTimeout(ns("a"), 100*time.Millisecond)
	defer cancel()
	if _, err := second.lock(ctx); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("lock held elsewhere, cancelled: %v, want ErrInterrupted", err)
	}
	got := make(chan error, 1)
	go func() {
		_, err := second.lock(ns("a"))
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("second lock taken while the first is held: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	first.unlock()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("second lock not taken after the first was released")
	}
	second.unlock()

	var none *imageLock
	if took, err := none.lock(ns("a")); took || err != nil {
		t.Errorf("nil lock: %v, %v", took, err)
	}
	none.unlock()
}
