//go:build integration

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slsabox/slsabox/attest"
	"github.com/slsabox/slsabox/attest/verify"
	"github.com/slsabox/slsabox/builder"
	"github.com/slsabox/slsabox/internal/testenv"
)

// loadNamespace holds TestConcurrentBuilds' objects, so that its leftover check sees
// only them.
const loadNamespace = "slsabox-test-load"

// loadBuilds is how many builds TestConcurrentBuilds runs at once (issue 14).
const loadBuilds = 8

// loadStep is what each build runs: it leaves a marker of its own in /src, /tmp and
// /out and keeps a process named for it, then for loadRounds half-seconds looks for
// anything of the others: a marker file where they would put theirs, a process whose
// command line holds another marker, or one of the other builds' host paths. It fails
// on the first it sees. $PATTERN matches every marker but not itself, so the grep
// that searches the command lines does not find its own. A command line is read once
// more before it counts: a process of the step's own that ended, or exec'd into
// another program, between the two looks is not another build's (it failed a CI run).
const loadStep = `set -u
for d in /src /tmp /out; do echo "$MARK" > "$d/$MARK"; done
sh -c 'sleep 60' "$MARK" &
i=0
while [ "$i" -lt "$ROUNDS" ]; do
  for f in /src/* /tmp/* /out/* /inputs/* /* /*/*; do
    case "$f" in
    */"$MARK") ;;
    *"$PREFIX"*) echo "SAW FILE $f"; exit 1 ;;
    esac
  done
  for p in $OTHERS; do
    if [ -e "$p" ]; then echo "SAW HOST PATH $p"; exit 1; fi
  done
  for f in $(grep -l "$PATTERN" /proc/[0-9]*/cmdline 2>/dev/null); do
    c=$(cat "$f" 2>/dev/null) || continue
    case "$c" in *"$MARK"*) continue ;; esac
    if printf '%s' "$c" | grep -q "$PATTERN"; then echo "SAW PROCESS $f: $c"; exit 1; fi
  done
  sleep 0.5
  i=$((i + 1))
done
echo "processes seen: $(ls /proc | grep -c '^[0-9]')"
echo "$MARK" > /out/artifact`

// loadRounds makes each step last about 8 s, long enough for all the builds' steps to
// run at the same time even when their start is spread by a busy machine.
const loadRounds = 16

// TestConcurrentBuilds runs 8 real slsabox build processes at once on one containerd,
// each on its own repository with its own output, signed with one key: every build
// succeeds, all 8 steps run at the same time, none sees another's files, processes or
// paths, each bundle's subjects are its own build's (and verify refuses a bundle for
// another build's artifact), and nothing is left: containers, tasks, snapshots, leases,
// mounts, sandbox processes (testenv.Leftovers), temporary directories (each build
// gets TMPDIR, which must end empty), staging directories beside the outputs, and
// nothing for slsabox sweep.
func TestConcurrentBuilds(t *testing.T) {
	addr := testenv.Containerd(t)
	img := testenv.Image(t, "testbox.tar")
	key := keygen(t)
	const builderID = "https://slsabox.dev/builders/load-test/v1"
	tmp := filepath.Join(t.TempDir(), "tmp")
	outs := t.TempDir()
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	const prefix = "load-mark-"
	run := fmt.Sprintf("%d", time.Now().UnixNano())
	type build struct {
		mark, dir, out, sourceURI string
		res                       builder.Result
		stdout, stderr            bytes.Buffer
		err                       error
	}
	builds := make([]*build, loadBuilds)
	for i := range builds {
		builds[i] = &build{mark: fmt.Sprintf("%s%d-%s", prefix, i, run), dir: t.TempDir(),
			out: filepath.Join(outs, fmt.Sprintf("out-%d", i)), sourceURI: fmt.Sprintf("git+https://example.org/load-%d", i)}
	}
	for i, b := range builds {
		var others []string
		for j, o := range builds {
			if j != i {
				others = append(others, o.dir, o.out, filepath.Join(o.dir, "slsabox.yaml"))
			}
		}
		others = append(others, tmp)
		def := map[string]any{
			"version": 1, "image": img, "outputs": []string{"/out/*"},
			"steps": []map[string]any{{"name": "probe", "run": []string{"sh", "-c", loadStep},
				"env": map[string]string{"MARK": b.mark, "PREFIX": prefix, "PATTERN": "load-mar[k]-",
					"OTHERS": strings.Join(others, " "), "ROUNDS": fmt.Sprint(loadRounds)}}},
		}
		data, err := json.Marshal(def) // JSON is YAML
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(b.dir, "slsabox.yaml"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		gitInitCommit(t, b.dir)
	}

	env := append(os.Environ(), "SLSABOX_NAMESPACE="+loadNamespace, "TMPDIR="+tmp)
	var wg sync.WaitGroup
	start := time.Now()
	for _, b := range builds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(slsaboxBin, "build", b.dir, "-o", b.out, "--output", "json", "--key", key+".key", "--no-tlog",
				"--builder-id", builderID, "--source-uri", b.sourceURI, "--containerd-address", addr)
			cmd.Env = env
			cmd.Stdout, cmd.Stderr = &b.stdout, &b.stderr
			if b.err = cmd.Run(); b.err == nil {
				b.err = json.Unmarshal(b.stdout.Bytes(), &b.res)
			}
		}()
	}
	wg.Wait()
	t.Logf("%d builds at once: %s", loadBuilds, time.Since(start).Round(time.Millisecond))
	for i, b := range builds {
		if b.err != nil {
			t.Errorf("build %d: %v\n%s", i, b.err, b.stderr.String())
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// All the steps ran at the same time, or the isolation above was not tested.
	var lastStart, firstEnd time.Time
	for _, b := range builds {
		st := b.res.Steps[0]
		if lastStart.IsZero() || st.StartedOn.After(lastStart) {
			lastStart = st.StartedOn
		}
		if firstEnd.IsZero() || st.FinishedOn.Before(firstEnd) {
			firstEnd = st.FinishedOn
		}
	}
	if !lastStart.Before(firstEnd) {
		t.Errorf("the steps did not all run at once: the last started at %s, the first ended at %s", lastStart, firstEnd)
	} else {
		t.Logf("all %d steps ran together for %s", loadBuilds, firstEnd.Sub(lastStart).Round(time.Millisecond))
	}

	pub := key + ".pub"
	for i, b := range builds {
		artifact := filepath.Join(b.out, "artifact")
		if data, err := os.ReadFile(artifact); err != nil || string(data) != b.mark+"\n" {
			t.Errorf("build %d: artifact %q (%v), want its own marker", i, data, err)
		}
		// The subjects are exactly this build's two files, with their digests.
		var want []string
		for _, name := range []string{"artifact", b.mark} {
			d, err := verify.FileDigest(filepath.Join(b.out, name))
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, name+" "+d)
		}
		slices.Sort(want)
		if got := bundleSubjects(t, filepath.Join(b.out, attest.BundleFile)); !slices.Equal(got, want) {
			t.Errorf("build %d: bundle subjects %v, want %v", i, got, want)
		}
		verifyArgs := func(art, bundle string) []string {
			return []string{"verify", art, "--bundle", bundle, "--key", pub, "--no-tlog-unsafe",
				"--builder-id", builderID, "--source-uri", b.sourceURI}
		}
		if stdout, stderr, code := slsabox(t, verifyArgs(artifact, filepath.Join(b.out, attest.BundleFile))...); code != 0 {
			t.Errorf("build %d: verify exited %d:\n%s%s", i, code, stdout, stderr)
		}
		other := builds[(i+1)%loadBuilds]
		if stdout, _, code := slsabox(t, verifyArgs(filepath.Join(other.out, "artifact"), filepath.Join(b.out, attest.BundleFile))...); code != 1 || !strings.Contains(stdout, "FAIL subject digest") {
			t.Errorf("build %d's bundle for build %d's artifact: exit %d, want 1 (subject digest):\n%s", i, (i+1)%loadBuilds, code, stdout)
		}
	}

	for _, l := range testenv.Leftovers(t, addr, loadNamespace) {
		t.Errorf("left behind: %s", l)
	}
	if ents, err := os.ReadDir(tmp); err != nil || len(ents) != 0 {
		t.Errorf("temporary files left in TMPDIR: %v %v", names(ents), err)
	}
	if ents, _ := os.ReadDir(outs); len(ents) != loadBuilds {
		t.Errorf("beside the outputs: %v, want only the %d output directories", names(ents), loadBuilds)
	}
	cmd := exec.Command(slsaboxBin, "sweep", "--containerd-address", addr)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "removed 0 containers, 0 snapshots, 0 leases, 0 work directories" {
		t.Errorf("slsabox sweep after the builds: %v: %s", err, out)
	}
}

// bundleSubjects returns "name sha256" for each subject of the bundle's statement.
func bundleSubjects(t *testing.T, path string) []string {
	t.Helper()
	var out []string
	for _, s := range bundleStatement(t, path).GetSubject() {
		out = append(out, s.GetName()+" "+s.GetDigest()["sha256"])
	}
	slices.Sort(out)
	return out
}

func names(ents []os.DirEntry) []string {
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}
