//go:build integration

package builder

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/snapshots"
	"github.com/containerd/errdefs"

	"github.com/slsabox/slsabox/internal/testenv"
)

// coldNamespace is emptied before and after TestConcurrentColdImage, so that its
// builds find neither the image nor its layers.
const coldNamespace = "slsabox-test-load-cold"

func TestLabelBuildAgrees(t *testing.T) {
	if labelBuild != testenv.LabelBuild {
		t.Fatalf("testenv.LabelBuild is %q, builder.labelBuild %q: testenv.Leftovers would miss builds' objects", testenv.LabelBuild, labelBuild)
	}
}

// TestConcurrentColdImage starts 8 builds of the same image at once, each with a
// Builder of its own (as 8 slsabox processes would), on a namespace where the image
// was never imported. Before imageLock, one of them could fail with "image ... already
// exists" (containerd's client updates, then creates the record), and all of them
// imported the archive together, backing off on containerd's ingest locks: 21 s for
// what one build does in 1.8 s. Now every build succeeds with its own output, and
// nothing is left but the image and its layers.
func TestConcurrentColdImage(t *testing.T) {
	addr := testenv.Containerd(t)
	img := testenv.Image(t, "testbox.tar")
	emptyNamespace(t, addr, coldNamespace)
	t.Cleanup(func() { emptyNamespace(t, addr, coldNamespace) })

	const n = 8
	type outcome struct {
		res *Result
		out string
		err error
	}
	results := make([]outcome, n)
	dirs := make([]string, n)
	for i := range dirs {
		dirs[i] = gitRepo(t, map[string]string{"slsabox.yaml": fmt.Sprintf(
			"version: 1\nimage: %s\nsteps:\n  - name: mark\n    run: [sh, -c, \"echo build-%d > /out/mark\"]\noutputs: [/out/mark]\n", img, i)})
	}
	lockDir := t.TempDir()
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := New(context.Background(), addr, WithNamespace(coldNamespace), WithCacheDir(lockDir))
			if err != nil {
				results[i].err = err
				return
			}
			defer b.Close()
			out := filepath.Join(t.TempDir(), "out")
			res, err := b.Build(context.Background(), Request{SourceDir: dirs[i], OutDir: out})
			results[i] = outcome{res, out, err}
		}()
	}
	wg.Wait()
	t.Logf("%d cold builds at once: %s", n, time.Since(start).Round(time.Millisecond))
	for i, r := range results {
		if r.err != nil {
			t.Errorf("build %d: %v", i, r.err)
			continue
		}
		data, err := os.ReadFile(filepath.Join(r.out, "mark"))
		if err != nil || string(data) != fmt.Sprintf("build-%d\n", i) {
			t.Errorf("build %d wrote %q (%v)", i, data, err)
		}
	}
	for _, l := range testenv.Leftovers(t, addr, coldNamespace) {
		t.Errorf("left behind: %s", l)
	}
}

// emptyNamespace removes every image and the mountpoint layers of ns and lets
// containerd collect their content and layers, so that the next build starts cold.
func emptyNamespace(t *testing.T, addr, ns string) {
	t.Helper()
	b, err := New(context.Background(), addr, WithNamespace(ns))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := b.ctx(context.Background())
	if _, err := b.Sweep(ctx, true); err != nil {
		t.Fatal(err)
	}
	sn := b.c.SnapshotService(defaultSnapshotter)
	var cached []string
	_ = sn.Walk(ctx, func(_ context.Context, i snapshots.Info) error {
		if i.Labels[labelCache] != "" {
			cached = append(cached, i.Name)
		}
		return nil
	})
	for _, name := range cached {
		if err := sn.Remove(ctx, name); err != nil && !errdefs.IsNotFound(err) {
			t.Fatalf("removing %s: %v", name, err)
		}
	}
	imgs, err := b.c.ImageService().List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, img := range imgs {
		var opts []images.DeleteOpt
		if i == len(imgs)-1 {
			opts = append(opts, images.SynchronousDelete()) // collect once, after the last
		}
		if err := b.c.ImageService().Delete(ctx, img.Name, opts...); err != nil && !errdefs.IsNotFound(err) {
			t.Fatalf("deleting image %s: %v", img.Name, err)
		}
	}
	var left []string
	_ = sn.Walk(ctx, func(_ context.Context, i snapshots.Info) error {
		left = append(left, i.Name)
		return nil
	})
	if len(left) != 0 {
		t.Fatalf("namespace %s is not cold: snapshots %v remain", ns, left)
	}
}
