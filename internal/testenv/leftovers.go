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
	// Another containerd on this host (a second test suite, with its own state
	// directory beside its socket) may run containers in a namespace of the same name:
	// what is under its state directory, or run by its shims, is not ours.
	stateDir := filepath.Dir(address) + "/"
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	for _, l := range strings.Split(string(mi), "\n") {
		if strings.Contains(l, "slsabox-mnt-") || strings.Contains(l, "/"+ns+"/") && strings.Contains(l, stateDir) {
			left = append(left, "mount "+l)
		}
	}
	for _, pid := range SandboxProcesses(ns) {
		if shim := shimAddress(pid); shim == "" || shim == address {
			left = append(left, "process "+pid)
		}
	}
	return left
}

// shimAddress is the containerd address of the shim that runs process pid (its
// nearest containerd-shim ancestor's -address), "" when it has none.
func shimAddress(pid string) string {
	for range 16 {
		b, err := os.ReadFile("/proc/" + pid + "/status")
		if err != nil {
			return ""
		}
		var ppid string
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "PPid:"); ok {
				ppid = strings.TrimSpace(v)
			}
		}
		if ppid == "" || ppid == "0" || ppid == "1" {
			return ""
		}
		cmd, _ := os.ReadFile("/proc/" + ppid + "/cmdline")
		args := strings.Split(string(cmd), "\x00")
		if len(args) > 0 && strings.Contains(filepath.Base(args[0]), "containerd-shim") {
			for i, a := range args {
				if a == "-address" && i+1 < len(args) {
					return args[i+1]
				}
			}
			return ""
		}
		pid = ppid
	}
	return ""
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
