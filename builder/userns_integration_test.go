//go:build integration

package builder

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/slsabox/slsabox/internal/testenv"
)

// TestSandboxUserNamespace: a step reads its uid and gid maps and finds no host root
// in them (without a user namespace the map is the identity, host 0 included, and the
// test fails); it owns what it writes in /out and /src as uid 48213, while the host
// sees its processes and those files under the build's mapped ids, never 48213 or 0.
func TestSandboxUserNamespace(t *testing.T) {
	h := newHarness(t)
	work := t.TempDir()
	// gVisor's gofer runs as the build's ids: it must pass through (the test's
	// directories are 0700).
	for _, d := range []string{work, filepath.Dir(work)} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	b, err := New(context.Background(), testenv.Containerd(t), append(runtimeOpts(), WithStepOutput(&lockedWriter{w: h.log}),
		WithNamespace(testNamespace), WithWorkDir(work), WithUserNamespace(UsernsRequire))...)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	h.b = b
	dir := h.project(`  - name: ids
    run: [sh, -c, "echo uid_map; cat /proc/self/uid_map; echo gid_map; cat /proc/self/gid_map; echo end; echo x > /out/f; echo y > /src/f; ls -ld /out/f /src/f /src/README /bin/toolbox; sleep 2.71828"]`, "")

	// The host's view while the step sleeps: its processes' ids (what ps -o uid,gid
	// shows) and the owners of the files it wrote.
	var (
		mu       sync.Mutex
		procIDs  = map[string]bool{} // "uid gid" lines of /proc/PID/status
		gvProcs  = map[string]bool{} // under gVisor: runscProcs
		fileIDs  = map[string]bool{} // "uid:gid" of out/f and src/f
		watching = make(chan struct{})
		done     = make(chan struct{})
	)
	go func() {
		defer close(done)
		for {
			for _, ids := range sleeperIDs("2.71828") {
				mu.Lock()
				procIDs[ids] = true
				mu.Unlock()
			}
			if testenv.GVisor() {
				for _, p := range runscProcs() {
					mu.Lock()
					gvProcs[p] = true
					mu.Unlock()
				}
			}
			for _, f := range []string{"out/f", "src/f"} {
				matches, _ := filepath.Glob(filepath.Join(work, "slsabox-*", f))
				for _, m := range matches {
					if fi, err := os.Lstat(m); err == nil {
						st := fi.Sys().(*syscall.Stat_t)
						mu.Lock()
						fileIDs[fmt.Sprintf("%d:%d", st.Uid, st.Gid)] = true
						mu.Unlock()
					}
				}
			}
			select {
			case <-watching:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	res, out, err := h.build(context.Background(), dir)
	close(watching)
	<-done
	if err != nil {
		t.Fatalf("build: %v\n%s", err, h.log)
	}
	log := h.log.String()

	if res.HostIDs == "" || !strings.HasPrefix(res.Sandbox.UserNamespace, "private:") {
		t.Fatalf("user namespace not recorded: hostIds %q, sandbox.userNamespace %q", res.HostIDs, res.Sandbox.UserNamespace)
	}
	var first, last uint64
	if _, err := fmt.Sscanf(res.HostIDs, "%d-%d", &first, &last); err != nil || last-first+1 != idRangeSize || first < idRangeStart {
		t.Fatalf("hostIds = %q", res.HostIDs)
	}
	if testenv.GVisor() {
		// The step reads gVisor's own map (0 0 4294967295): its ids are the
		// Sentry's, and the Sentry's are a user namespace of the host. What the
		// host sees of this build, runsc's boot (the Sentry) and gofer processes,
		// must run on the build's range, whatever ids they run as.
		mu.Lock()
		seen := map[string]bool{}
		for p := range gvProcs {
			if !strings.Contains(p, "slsabox-"+res.BuildID+"-") {
				continue
			}
			for _, kind := range []string{" boot ", " gofer "} {
				if strings.Contains(p, kind) {
					seen[kind] = true
				}
			}
			var uid, gid uint64
			if _, err := fmt.Sscanf(p, "%d %d", &uid, &gid); err != nil || uid < first || uid > last || gid < first || gid > last {
				t.Errorf("on the host, a process of the build's gVisor sandbox runs outside the build's ids %s: %s", res.HostIDs, p)
			}
			if !strings.Contains(p, fmt.Sprintf("(uid_map 0 %d %d)", first, idRangeSize)) {
				t.Errorf("on the host, a process of the build's gVisor sandbox has another uid map than 0 %d %d: %s", first, idRangeSize, p)
			}
		}
		mu.Unlock()
		if !seen[" boot "] || !seen[" gofer "] {
			t.Errorf("never saw both the Sentry (boot) and the gofer of the build's gVisor sandbox on the host: saw %v", gvProcs)
		}
		t.Logf("the host's view of the build's gVisor sandboxes: %d processes, e.g. %v", len(gvProcs), firstKey(gvProcs))
	}
	uidMap, gidMap := idMapLines(t, log, "uid_map", "gid_map"), idMapLines(t, log, "gid_map", "end")
	for name, m := range map[string][][3]uint64{"uid_map": uidMap, "gid_map": gidMap} {
		if testenv.GVisor() {
			break // gVisor's own map, checked on the host above
		}
		if len(m) == 0 {
			t.Fatalf("%s: no mapping in the log:\n%s", name, log)
		}
		for _, l := range m {
			if l[1] == 0 {
				t.Errorf("%s maps host id 0: %v (no user namespace?)", name, l)
			}
			if l[1] <= defaultSandboxUID && defaultSandboxUID < l[1]+l[2] {
				t.Errorf("%s maps host id %d, the step's own uid outside a user namespace: %v", name, defaultSandboxUID, l)
			}
		}
	}
	if want := [3]uint64{0, first, idRangeSize}; !testenv.GVisor() && (len(uidMap) != 1 || uidMap[0] != want || len(gidMap) != 1 || gidMap[0] != want) {
		t.Errorf("uid_map %v, gid_map %v; want the one line %v", uidMap, gidMap, want)
	}

	// Inside, the step owns what it wrote; the image's files belong to no id it knows.
	for _, f := range []string{"/out/f", "/src/f", "/src/README"} {
		if !regexpLine(log, fmt.Sprintf(` %d %d \d+ .* %s$`, defaultSandboxUID, defaultSandboxUID, f)) {
			t.Errorf("inside, %s is not owned by %d:%d:\n%s", f, defaultSandboxUID, defaultSandboxUID, log)
		}
	}
	if !regexpLine(log, ` 65534 65534 \d+ .* /bin/toolbox$`) {
		t.Errorf("inside, the image's /bin/toolbox should belong to the overflow id 65534 (host root is unmapped):\n%s", log)
	}

	host := fmt.Sprintf("%d %d", first+defaultSandboxUID, first+defaultSandboxUID)
	mu.Lock()
	defer mu.Unlock()
	if testenv.GVisor() {
		if len(procIDs) != 0 {
			t.Errorf("under gVisor the step's process showed on the host: %v", procIDs)
		}
	} else if len(procIDs) == 0 {
		t.Errorf("never saw the step's process on the host")
	}
	for ids := range procIDs {
		if ids != host {
			t.Errorf("on the host, the step's process runs as uid, gid %q; want %q (never 0 or %d)", ids, host, defaultSandboxUID)
		}
	}
	if len(fileIDs) == 0 {
		t.Errorf("never saw the step's files in the work directory")
	}
	for ids := range fileIDs {
		if ids != strings.ReplaceAll(host, " ", ":") {
			t.Errorf("on the host, a file the step wrote is owned by %s; want %s", ids, strings.ReplaceAll(host, " ", ":"))
		}
	}
	// The published outputs are root's, as before: nothing of the mapped ids leaks out.
	fi, err := os.Stat(filepath.Join(out, "f"))
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != uint32(os.Getuid()) || st.Gid != uint32(os.Getgid()) {
		t.Errorf("published output owned by %d:%d, want the invoking user %d:%d", st.Uid, st.Gid, os.Getuid(), os.Getgid())
	}
}

// TestSandboxUserNamespaceConcurrent: builds that run at the same time get host id
// ranges that do not overlap.
func TestSandboxUserNamespaceConcurrent(t *testing.T) {
	h := newHarness(t)
	dir := h.project(`  - name: wait
    run: [sh, -c, "sleep 2; touch /out/f"]`, "")
	const n = 3
	var (
		wg     sync.WaitGroup
		ranges [n]string
		errs   [n]error
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := h.b.Build(context.Background(), Request{SourceDir: dir, OutDir: filepath.Join(t.TempDir(), "out")})
			errs[i] = err
			if res != nil {
				ranges[i] = res.HostIDs
			}
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("build %d: %v", i, errs[i])
		}
		if ranges[i] == "" || seen[ranges[i]] {
			t.Errorf("concurrent builds got host id ranges %q", ranges)
		}
		seen[ranges[i]] = true
	}
	h.assertClean()
}

// sleeperIDs returns "UID GID" (real, effective, saved and fs ids must agree, else
// all four of each) of every host process running sleep ARG.
func sleeperIDs(arg string) []string {
	var ids []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimSuffix(string(cmdline), "\x00"), "\x00")
		if len(args) != 2 || filepath.Base(args[0]) != "sleep" || args[1] != arg {
			continue
		}
		if v := procUIDGID(e.Name()); v != "" {
			ids = append(ids, v)
		}
	}
	return ids
}

// procUIDGID is "UID GID" of process pid as ps -o uid,gid shows them (all four ids
// when they differ), or "" when it is gone.
func procUIDGID(pid string) string {
	status, err := os.ReadFile(filepath.Join("/proc", pid, "status"))
	if err != nil {
		return ""
	}
	var uid, gid string
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 5 && (f[0] == "Uid:" || f[0] == "Gid:") {
			v := strings.Join(f[1:], " ")
			if f[1] == f[2] && f[2] == f[3] && f[3] == f[4] {
				v = f[1]
			}
			if f[0] == "Uid:" {
				uid = v
			} else {
				gid = v
			}
		}
	}
	return uid + " " + gid
}

// runscProcs returns, for each host process of runsc (its command line names
// runsc's boot or gofer command and a container id of slsabox), "UID GID (uid_map
// MAP) CMDLINE": under gVisor, the step's processes live in the Sentry, and these,
// the Sentry's and the gofer's, are what the host sees of a build, whatever ids they
// run as.
func runscProcs() []string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.ReplaceAll(strings.TrimSuffix(string(cmdline), "\x00"), "\x00", " ")
		if !strings.Contains(args, "slsabox-") || !strings.Contains(args, " boot ") && !strings.Contains(args, " gofer ") {
			continue
		}
		m, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "uid_map"))
		if ids := procUIDGID(e.Name()); ids != "" {
			out = append(out, fmt.Sprintf("%s (uid_map %s) %s", ids, strings.Join(strings.Fields(string(m)), " "), args))
		}
	}
	return out
}

// regexpLine reports whether a line of log matches the regular expression re.
func regexpLine(log, re string) bool {
	return regexp.MustCompile("(?m)" + re).MatchString(log)
}

// idMapLines parses the lines of /proc/self/uid_map (or gid_map) the step printed
// between the lines from and to.
func idMapLines(t *testing.T, log, from, to string) [][3]uint64 {
	t.Helper()
	var m [][3]uint64
	in := false
	for _, l := range strings.Split(log, "\n") {
		l = strings.TrimSpace(strings.TrimPrefix(l, "[ids]"))
		switch {
		case l == from:
			in = true
		case l == to:
			in = false
		case in:
			f := strings.Fields(l)
			if len(f) != 3 {
				t.Fatalf("not an id map line: %q", l)
			}
			var v [3]uint64
			for i := range f {
				n, err := strconv.ParseUint(f[i], 10, 32)
				if err != nil {
					t.Fatalf("not an id map line: %q", l)
				}
				v[i] = n
			}
			m = append(m, v)
		}
	}
	return m
}

// firstKey returns one key of m, for a log line.
func firstKey(m map[string]bool) string {
	for k := range m {
		return k
	}
	return ""
}
