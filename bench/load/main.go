// Command load measures slsabox under load: the same builds run one after another
// (series) and all at once (parallel) on one containerd, and the throughput gained
// (docs/performance.md, "Under load", explains the method and records the results):
//
//	(a) the trivial one-step build of bench/sandbox (a): fixed costs only;
//	(b) a short step that waits 1 s and writes 32 MiB to /out: a build that is not
//	    CPU-bound, like a test waiting on a timer or a tool waiting on its disk.
//
// The peer is containerd's own client: the same step in the same image, run by
// `ctr run --rm` 8 times in series and 8 at once on the same daemon, in the same
// rounds. Its ratio is what the daemon, the shim, runc and the kernel allow on this
// machine before slsabox adds anything.
//
// Every round runs all four sides after one unmeasured warm-up round, in orders that
// give each side every other side as its predecessor once in four rounds (a Williams
// square). A side ends when its last build has ended and containerd has finished
// cleaning up after its shims (no shim or runc process of the namespace is left), and
// the next starts half a second later; the report gives the median of each side, the ratio
// series / parallel (the throughput gain) for slsabox and for ctr, and PASS or FAIL of
// slsabox's ratio against -target. It also gives the CPU time the machine spent on
// each side (/proc/stat) and how many cores that kept busy: a series that already
// keeps c of n cores busy cannot gain more than n/c by running at once. Each build
// has a repository and an output directory of its own; they share the image, the
// key and the daemon, as CI jobs on one runner do.
//
// Run it through scripts/bench.sh (make bench), which starts the private containerd,
// builds the image and bin/slsabox, and passes its arguments on:
//
//	scripts/bench.sh load
//	scripts/bench.sh load -which a -n 5 -json load.json
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slsabox/slsabox/bench/internal/benchenv"
	"github.com/slsabox/slsabox/bench/internal/stats"
)

const usage = `usage: go run ./bench/load [flags]

Runs -builds builds in series and all at once on one containerd, in the same rounds
as the same step through ctr run --rm (the peer), and reports the throughput ratio
(series time / parallel time) of both; slsabox's is judged against -target:
  (a) trivial step: sh -c ': > /out/x' (bench/sandbox (a))
  (b) short step:   sleep 1, then 32 MiB written to /out
Needs root, a running containerd (scripts/containerd.sh start), ctr, bin/slsabox and
the testbox image archive; scripts/bench.sh load prepares all of them.

Flags:
`

type options struct {
	n, warmup, builds int
	which             []string
	target            float64
	containerd        string
	namespace         string
	slsabox           string
	ctr               string
	testbox           string
	jsonOut           string
	unsigned          bool
	keep              bool
}

func main() {
	var o options
	var which string
	flag.Usage = func() {
		fmt.Fprint(flag.CommandLine.Output(), usage)
		flag.PrintDefaults()
	}
	flag.IntVar(&o.n, "n", 4, "measured rounds (each runs all four sides; a multiple of 4 balances their order)")
	flag.IntVar(&o.warmup, "warmup", 1, "unmeasured rounds first")
	flag.IntVar(&o.builds, "builds", 8, "builds per side")
	flag.StringVar(&which, "which", "a,b", "workloads: a, b or a,b")
	flag.Float64Var(&o.target, "target", 1.6, "the throughput ratio (series / parallel) must reach it")
	flag.StringVar(&o.containerd, "containerd", benchenv.EnvOr("SLSABOX_CONTAINERD", "/run/slsabox/containerd/containerd.sock"), "containerd socket (env SLSABOX_CONTAINERD)")
	flag.StringVar(&o.namespace, "namespace", "slsabox-bench-load", "containerd namespace of the builds")
	flag.StringVar(&o.slsabox, "slsabox", "bin/slsabox", "slsabox binary")
	flag.StringVar(&o.ctr, "ctr", "ctr", "ctr binary, for the peer")
	flag.StringVar(&o.testbox, "testbox", ".cache/images/testbox.tar", "image: oci-archive:PATH@sha256:DIGEST, as scripts/images/testbox.sh prints it")
	flag.StringVar(&o.jsonOut, "json", "", "also write every sample and the summary as JSON to this file")
	flag.BoolVar(&o.unsigned, "unsigned", false, "build with --unsigned (default: sign with a fresh key, --no-tlog)")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary projects and outputs")
	flag.Parse()
	if flag.NArg() > 0 {
		benchenv.Fail(fmt.Errorf("unexpected arguments %q", flag.Args()), "flags only; see -h")
	}
	for _, w := range strings.Split(which, ",") {
		if w = strings.TrimSpace(w); w != "a" && w != "b" {
			benchenv.Fail(fmt.Errorf("-which %q: want a, b or a,b", which), "")
		}
		o.which = append(o.which, strings.TrimSpace(w))
	}
	if o.n < 1 || o.warmup < 0 || o.builds < 2 {
		benchenv.Fail(errors.New("-n must be at least 1, -warmup at least 0 and -builds at least 2"), "")
	}
	benchenv.Main(func(ctx context.Context) (benchenv.Report, error) {
		rep, err := run(ctx, o)
		if rep == nil {
			return nil, err
		}
		return rep, err
	}, o.jsonOut)
}

// Report is what one run found; -json writes it as is.
type Report struct {
	Machine    Machine     `json:"machine"`
	N          int         `json:"n"`
	Warmup     int         `json:"warmup"`
	Builds     int         `json:"builds"`
	Signed     bool        `json:"signed"`
	Benchmarks []Benchmark `json:"benchmarks"`
}

// Machine describes where the numbers come from.
type Machine struct {
	benchenv.Host
	Containerd   string `json:"containerd"`
	Runc         string `json:"runc"`
	LoadAvgStart string `json:"loadAvgStart"`
	LoadAvgEnd   string `json:"loadAvgEnd"`
}

// Benchmark is one workload, run both ways by slsabox and by the peer.
type Benchmark struct {
	ID       string  `json:"id"`
	Title    string  `json:"title"`
	Step     string  `json:"step"`
	Series   Side    `json:"series"`
	Parallel Side    `json:"parallel"`
	Ratio    float64 `json:"ratio"`  // Series.Median / Parallel.Median: the throughput gain
	Target   float64 `json:"target"` // Ratio must reach it
	Pass     bool    `json:"pass"`
	// The peer, ctr run --rm of the same step and image on the same daemon.
	CtrSeries   Side    `json:"ctrSeries"`
	CtrParallel Side    `json:"ctrParallel"`
	CtrRatio    float64 `json:"ctrRatio"` // CtrSeries.Median / CtrParallel.Median
}

// Side is one way of running the builds: its samples are whole rounds (all builds).
type Side struct {
	Samples []Sample `json:"samples"`
	Median  float64  `json:"medianSeconds"`
	Min     float64  `json:"minSeconds"`
	Max     float64  `json:"maxSeconds"`
}

// Sample is one measured round of one side.
type Sample struct {
	Wall float64 `json:"wallSeconds"` // first build started to the namespace quiet again (quiesce)
	// BuildMedian is the median wall time of one build in the round.
	BuildMedian float64 `json:"buildMedianSeconds"`
	// CPU is the CPU time the whole machine spent busy during the round
	// (/proc/stat), the builds' and anything else's; -1 when unknown.
	CPU     float64 `json:"cpuSeconds"`
	LoadAvg string  `json:"loadAvg"` // when the round ended
}

type bench struct {
	o       options
	tmp     string
	slsabox string
	key     string
	image   benchenv.Image // the testbox, imported for ctr
	seq     atomic.Int64   // makes ctr's container IDs unique
	rtOnce  sync.Once
	rt      struct{ containerd, runc string }
}

func run(ctx context.Context, o options) (*Report, error) {
	b := &bench{o: o}
	var err error
	if b.slsabox, err = filepath.Abs(o.slsabox); err != nil {
		return nil, err
	}
	if _, err := os.Stat(b.slsabox); err != nil {
		return nil, fmt.Errorf("slsabox binary: %w (build it: go build -o bin/slsabox ./cmd/slsabox)", err)
	}
	if !strings.HasPrefix(o.testbox, "oci-archive:") || !strings.Contains(o.testbox, "@sha256:") {
		return nil, fmt.Errorf("-testbox %q: want oci-archive:PATH@sha256:DIGEST (scripts/images/testbox.sh DIR prints it)", o.testbox)
	}
	if _, err := exec.LookPath(o.ctr); err != nil {
		return nil, fmt.Errorf("ctr, for the peer: %w (apt-get install containerd)", err)
	}
	if b.tmp, err = os.MkdirTemp("", "slsabox-bench-load-"); err != nil {
		return nil, err
	}
	if o.keep {
		benchenv.Logf("keeping %s", b.tmp)
	} else {
		defer os.RemoveAll(b.tmp)
	}
	if !o.unsigned {
		b.key = filepath.Join(b.tmp, "signing")
		if out, err := exec.CommandContext(ctx, b.slsabox, "keygen", "--out", b.key).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("slsabox keygen: %w: %s", err, out)
		}
	}
	if b.image, err = benchenv.ImportImage(ctx, o.ctr, o.containerd, o.namespace, o.testbox); err != nil {
		return nil, err
	}
	rep := &Report{N: o.n, Warmup: o.warmup, Builds: o.builds, Signed: !o.unsigned,
		Machine: Machine{Host: benchenv.ReadHost(), LoadAvgStart: benchenv.LoadAvg()}}
	defer func() {
		rep.Machine.LoadAvgEnd = benchenv.LoadAvg()
		rep.Machine.Containerd, rep.Machine.Runc = b.rt.containerd, b.rt.runc
	}()
	for _, w := range o.which {
		bm := &Benchmark{ID: w, Target: o.target}
		switch w {
		case "a":
			bm.Title, bm.Step = "trivial step (bench/sandbox (a))", ": > /out/x"
		case "b":
			bm.Title, bm.Step = "short step: sleep 1, write 32 MiB", "sleep 1; dd if=/dev/zero of=/out/x bs=1048576 count=32 2>/dev/null"
		}
		err := b.measure(ctx, bm)
		if len(bm.Series.Samples) > 0 {
			rep.Benchmarks = append(rep.Benchmarks, *bm)
		}
		if err != nil {
			return rep, fmt.Errorf("workload %s: %w", w, err)
		}
	}
	return rep, nil
}

// williams are the orders of the four sides in successive rounds (indexes into
// measure's sides): a Williams square, in which every side follows every other side
// exactly once in four rounds, so that what one side leaves behind (containerd's
// clean-up after 8 shims, the page cache) falls on every other side alike.
var williams = [4][4]int{{0, 1, 3, 2}, {1, 2, 0, 3}, {2, 3, 1, 0}, {3, 0, 2, 1}}

// settle is the pause before each side, on top of quiesce: the kernel's own deferred
// work (freeing namespaces, cgroups and mounts) is not any side's.
const settle = 500 * time.Millisecond

// measure makes the projects of bm and runs the rounds, the sides in the orders of
// williams, so that a change in the machine's other load falls on every side.
func (b *bench) measure(ctx context.Context, bm *Benchmark) error {
	projects := make([]string, b.o.builds)
	for i := range projects {
		projects[i] = filepath.Join(b.tmp, fmt.Sprintf("%s-project-%d", bm.ID, i))
		// Each project is its own repository: the step differs by a comment, so the
		// commits and the provenance differ as those of different projects would.
		def := fmt.Sprintf("version: 1\nimage: %s\nsteps:\n  - name: work\n    run: [sh, -c, %q]\noutputs: [/out/x]\n",
			b.o.testbox, bm.Step+" # project "+fmt.Sprint(i))
		if err := benchenv.GitProject(projects[i], map[string]string{"slsabox.yaml": def}); err != nil {
			return err
		}
	}
	slsabox := func(ctx context.Context, i int, out string) (float64, error) { return b.build(ctx, projects[i], out) }
	ctr := func(ctx context.Context, _ int, out string) (float64, error) { return b.ctrRun(ctx, bm.Step, out) }
	sides := []struct {
		name     string
		side     *Side
		parallel bool
		one      func(ctx context.Context, i int, out string) (float64, error)
	}{
		{"series", &bm.Series, false, slsabox},
		{"parallel", &bm.Parallel, true, slsabox},
		{"ctr-series", &bm.CtrSeries, false, ctr},
		{"ctr-parallel", &bm.CtrParallel, true, ctr},
	}
	for i := -b.o.warmup; i < b.o.n; i++ {
		for _, k := range williams[(i+b.o.warmup)%len(williams)] {
			s := sides[k]
			select {
			case <-time.After(settle):
			case <-ctx.Done():
				return ctx.Err()
			}
			out := filepath.Join(b.tmp, fmt.Sprintf("%s-%s-%d", bm.ID, s.name, i))
			run := b.series
			if s.parallel {
				run = b.parallel
			}
			x, err := run(ctx, len(projects), s.one, out)
			if err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			tag := "warm-up"
			if i >= 0 {
				tag = fmt.Sprintf("%d/%d", i+1, b.o.n)
				s.side.Samples = append(s.side.Samples, x)
			}
			benchenv.Logf("(%s) %-7s %-12s %d builds %7.3fs, CPU %6s (one build: median %.3fs; load %s)", bm.ID, tag, s.name, len(projects), x.Wall, orNA(x.CPU, "%.2fs"), x.BuildMedian, x.LoadAvg)
		}
	}
	for _, s := range sides {
		walls := make([]float64, len(s.side.Samples))
		for i, x := range s.side.Samples {
			walls[i] = x.Wall
		}
		s.side.Median, s.side.Min, s.side.Max = stats.Median(walls), slices.Min(walls), slices.Max(walls)
	}
	bm.Ratio = bm.Series.Median / bm.Parallel.Median
	bm.Pass = bm.Ratio >= bm.Target
	bm.CtrRatio = bm.CtrSeries.Median / bm.CtrParallel.Median
	return nil
}

// series runs n builds (or ctr runs) one after another, build i into outs/i.
func (b *bench) series(ctx context.Context, n int, one func(context.Context, int, string) (float64, error), outs string) (Sample, error) {
	start, cpu, before := time.Now(), benchenv.BusyCPU(), benchenv.Processes(b.ours)
	walls := make([]float64, n)
	for i := range n {
		w, err := one(ctx, i, filepath.Join(outs, fmt.Sprint(i)))
		if err != nil {
			return Sample{}, err
		}
		walls[i] = w
	}
	end := b.quiesce(ctx, before)
	return b.sample(start, end, cpu, walls, outs), nil
}

// parallel starts n builds (or ctr runs) at once and waits for all of them.
func (b *bench) parallel(ctx context.Context, n int, one func(context.Context, int, string) (float64, error), outs string) (Sample, error) {
	start, cpu, before := time.Now(), benchenv.BusyCPU(), benchenv.Processes(b.ours)
	walls := make([]float64, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			walls[i], errs[i] = one(ctx, i, filepath.Join(outs, fmt.Sprint(i)))
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return Sample{}, err
	}
	end := b.quiesce(ctx, before)
	return b.sample(start, end, cpu, walls, outs), nil
}

// quiesce waits, within 10 s, until no process of the namespace is left but those
// in before (a shim that an earlier, killed run left, say): no shim and no runc.
// containerd 1.6 cleans up after each shim that exits (shim delete, runc delete
// --force) after its client has had its answer. That work is the side's own, so the
// side's time and CPU include it, rather than the next side's.
// It wants the namespace quiet for 100 ms, since containerd starts the clean-up a
// moment after the shim has exited, and returns when it first saw it quiet: the end
// of the side.
func (b *bench) quiesce(ctx context.Context, before []string) (end time.Time) {
	var quietSince time.Time
	for deadline := time.Now().Add(10 * time.Second); ctx.Err() == nil; time.Sleep(20 * time.Millisecond) {
		left := benchenv.Processes(b.ours)
		switch {
		case slices.ContainsFunc(left, func(pid string) bool { return !slices.Contains(before, pid) }):
			quietSince = time.Time{}
		case quietSince.IsZero():
			quietSince = time.Now()
		case time.Since(quietSince) >= 100*time.Millisecond:
			return quietSince
		}
		if time.Now().After(deadline) {
			benchenv.Logf("warning: shims or runc of namespace %s still run 10 s after the side's last build; going on", b.o.namespace)
			return time.Now()
		}
	}
	return time.Now()
}

// ours reports whether a command line is a shim or runc of the builds' namespace.
func (b *bench) ours(cmd string) bool {
	name, args, _ := strings.Cut(cmd, " ")
	switch filepath.Base(name) {
	case "containerd-shim-runc-v2", "containerd-shim":
		return strings.Contains(" "+args, " -namespace "+b.o.namespace+" ")
	case "runc":
		return strings.Contains(" "+args, " --root /run/containerd/runc/"+b.o.namespace+" ")
	}
	return false
}

func (b *bench) sample(start, end time.Time, cpu0 float64, walls []float64, outs string) Sample {
	x := Sample{Wall: end.Sub(start).Seconds(), BuildMedian: stats.Median(walls), CPU: -1, LoadAvg: benchenv.LoadAvg()}
	if cpu1 := benchenv.BusyCPU(); cpu0 >= 0 && cpu1 >= 0 {
		x.CPU = cpu1 - cpu0
	}
	if !b.o.keep {
		os.RemoveAll(outs)
	}
	return x
}

// ctrRun runs step once with ctr run --rm in the testbox image, /out bound to the new
// directory out, and returns its wall time.
func (b *bench) ctrRun(ctx context.Context, step, out string) (float64, error) {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return 0, err
	}
	id := fmt.Sprintf("slsabox-bench-load-%d-%d", os.Getpid(), b.seq.Add(1))
	args := []string{"-a", b.o.containerd, "-n", b.o.namespace, "run", "--rm", "--snapshotter", "overlayfs",
		"--mount", "type=bind,src=" + out + ",dst=/out,options=rbind:rw:nosuid:nodev",
		b.image.Name, id, "sh", "-c", step}
	return benchenv.Timed(exec.CommandContext(ctx, b.o.ctr, args...))
}

// build runs one slsabox build of project into out and returns its wall time.
func (b *bench) build(ctx context.Context, project, out string) (float64, error) {
	args := []string{"build", project, "-o", out, "--containerd-address", b.o.containerd, "--namespace", b.o.namespace, "--output", "json", "-q"}
	if b.key != "" {
		args = append(args, "--key", b.key+".key", "--no-tlog")
	} else {
		args = append(args, "--unsigned")
	}
	cmd := exec.CommandContext(ctx, b.slsabox, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start).Seconds()
	if err != nil {
		return 0, fmt.Errorf("slsabox %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	var res struct {
		Runtime struct {
			Containerd string `json:"containerd"`
			Runc       string `json:"runc"`
		} `json:"runtime"`
		Subjects []struct{} `json:"subjects"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil || len(res.Subjects) != 1 {
		return 0, fmt.Errorf("reading slsabox --output json of %s: %w", project, err)
	}
	b.rtOnce.Do(func() { b.rt.containerd, b.rt.runc = res.Runtime.Containerd, res.Runtime.Runc }) // the same for every build
	return wall, nil
}

func (r *Report) Print(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "\nmachine: %d CPUs, %s, %s, kernel %s, containerd %s, runc %s\n", m.CPUs, m.MemTotal, m.OS, m.Kernel, m.Containerd, m.Runc)
	signing := "signed with a key, --no-tlog"
	if !r.Signed {
		signing = "--unsigned"
	}
	fmt.Fprintf(w, "load average at start %s, at end %s; %d builds per side (%s); %d measured rounds, each side after each other side in turn, after %d warm-up\n",
		m.LoadAvgStart, m.LoadAvgEnd, r.Builds, signing, r.N, r.Warmup)
	if benchenv.Busy(m.LoadAvgStart, 1.5) {
		fmt.Fprintf(w, "warning: other work was running (1-minute load average above 1.5 at the start); the ratios are disturbed, run again on an idle machine\n")
	}
	for _, bm := range r.Benchmarks {
		fmt.Fprintf(w, "\n(%s) %s: sh -c '%s'\n", bm.ID, bm.Title, bm.Step)
		fmt.Fprintf(w, "  %-12s %9s %9s %9s %14s %12s %10s\n", "side", "median", "min", "max", "one build", "CPU median", "CPU/wall")
		for _, s := range []struct {
			name string
			side Side
		}{{"series", bm.Series}, {"parallel", bm.Parallel}, {"ctr-series", bm.CtrSeries}, {"ctr-parallel", bm.CtrParallel}} {
			if len(s.side.Samples) == 0 {
				continue
			}
			one := make([]float64, len(s.side.Samples))
			cpu := make([]float64, len(s.side.Samples))
			for i, x := range s.side.Samples {
				one[i], cpu[i] = x.BuildMedian, x.CPU
			}
			cpuMedian := stats.Median(cpu)
			if slices.Min(cpu) < 0 {
				cpuMedian = -1 // some round's CPU is unknown
			}
			fmt.Fprintf(w, "  %-12s %8.3fs %8.3fs %8.3fs %13.3fs %12s %10s\n", s.name, s.side.Median, s.side.Min, s.side.Max, stats.Median(one),
				orNA(cpuMedian, "%.2fs"), orNA(busyMedian(s.side), "%.2f"))
		}
		if bm.Parallel.Median > 0 {
			verdict := "PASS"
			if !bm.Pass {
				verdict = "FAIL"
			}
			fmt.Fprintf(w, "  throughput: series / parallel = %.2fx (target >= %.2fx): %s\n", bm.Ratio, bm.Target, verdict)
		}
		if bm.CtrParallel.Median > 0 {
			fmt.Fprintf(w, "  peer: ctr run --rm, series / parallel = %.2fx; slsabox / ctr = %.2f\n", bm.CtrRatio, bm.Ratio/bm.CtrRatio)
		}
		if c, cc := busyMedian(bm.Series), busyMedian(bm.CtrSeries); c > 0 && cc > 0 {
			// CPUs is the benchmark's own CPU affinity; /proc/stat counts every online
			// CPU. The two differ only under taskset or a cpuset, which this bench
			// does not use.
			fmt.Fprintf(w, "  ceiling: the series keep %.2f (slsabox) and %.2f (ctr) of %d cores busy, so at once can gain at most %.2fx and %.2fx\n",
				c, cc, r.Machine.CPUs, float64(r.Machine.CPUs)/c, float64(r.Machine.CPUs)/cc)
		}
	}
}

// busyMedian is the median over s's rounds of CPU/wall: how many cores the side kept
// busy on average, or -1 when the CPU time is unknown. A series whose builds already
// keep c of the n cores busy cannot gain more than n/c by running them at once.
func busyMedian(s Side) float64 {
	var busy []float64
	for _, x := range s.Samples {
		if x.CPU < 0 || x.Wall <= 0 {
			return -1
		}
		busy = append(busy, x.CPU/x.Wall)
	}
	if len(busy) == 0 {
		return -1
	}
	return stats.Median(busy)
}

// orNA formats v, or says n/a when it is negative (unknown).
func orNA(v float64, format string) string {
	if v < 0 {
		return "n/a"
	}
	return fmt.Sprintf(format, v)
}
