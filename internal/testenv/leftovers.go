package testenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/snapshots"
	"github.com/containerd/containerd/v2/pkg/namespaces"
)

// LabelBuild is the label builder puts on every object of a build (builder.labelBuild;
// testenv cannot import builder, whose own tests import testenv, and builder's tests
// check the two agree).
const LabelBuild = "dev.slsabox.build"

// Leftovers lists what builds left in containerd namespace ns on the daemon at address
// and on this host: containers (and their tasks), snapshots that are views, active or
// labelled by a build, leases labelled by a build, mounts of build work directories
// or of the namespace's containers, and processes in the namespace's cgroups. The
// image's committed layers and slsabox's mountpoint layer are kept across builds on
// purpose and are not leftovers. Empty means clean.
func Leftovers(t testing.TB, address, ns string) []string {
	t.Helper()
	c, err := containerd.New(address, containerd.WithDefaultNamespace(ns), containerd.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatalf("connecting to containerd at %s: %v", address, err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(namespaces.WithNamespace(context.Background(), ns), time.Minute)
	defer cancel()
	var left []string
	ctrs, err := c.Containers(ctx)
	if err != nil {
		t.Fatalf("listing containers: %v", err)
	}
	for _, ctr := range ctrs {
		what := "container " + ctr.ID()
		if _, err := ctr.Task(ctx, nil); err == nil {
			what += " with its task"
		}
		left = append(left, what)
	}
	err = c.SnapshotService("overlayfs").Walk(ctx, func(_ context.Context, i snapshots.Info) error {
		if i.Labels[LabelBuild] != "" || i.Kind == snapshots.KindView || i.Kind == snapshots.KindActive {
			left = append(left, fmt.Sprintf("snapshot %s (%s)", i.Name, i.Kind))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("listing snapshots: %v", err)
	}
	ls, err := c.LeasesService().List(ctx, "labels."+strconv.Quote(LabelBuild))
	if err != nil {
		t.Fatalf("listing leases: %v", err)
	}
	for _, l := range ls {
		left = append(left, "lease "+l.ID)
	}
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	for _, l := range strings.Split(string(mi), "\n") {
		if strings.Contains(l, "slsabox-mnt-") || strings.Contains(l, "/"+ns+"/") {
			left = append(left, "mount "+l)
		}
	}
	for _, pid := range SandboxProcesses(ns) {
		left = append(left, "process "+pid)
	}
	return left
}

// SandboxProcesses lists host PIDs in the cgroups of namespace ns's containers
// (containerd puts a container in /NAMESPACE/ID).
func SandboxProcesses(ns string) []string {
	var pids []string
	matches, _ := filepath.Glob("/proc/[0-9]*/cgroup")
	for _, m := range matches {
		b, err := os.ReadFile(m)
		if err == nil && strings.Contains(string(b), "/"+ns+"/") {
			pids = append(pids, filepath.Base(filepath.Dir(m)))
		}
	}
	return pids
}
