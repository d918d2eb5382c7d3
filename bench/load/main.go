// Command load measures slsabox under load: the same builds run one after another
// (series) and all at once (parallel) on one containerd, and the throughput gained
// (docs/performance.md, "Under load", explains the method and records the results):
//
//	(a) the trivial one-step build of bench/sandbox (a): fixed costs only;
//	(b) a short step that waits 1 s and writes 32 MiB to /out: a build that is not
//	    CPU-bound, like a test waiting on a timer or a tool waiting on its disk.
//
// Every round runs both sides, alternately (series, parallel, series, ...), after
// one unmeasured warm-up round; the report gives the median of each side, the ratio
// series / parallel (the throughput gain) and PASS or FAIL against -target. Each
// build has a repository and an output directory of its own; they share the image,
// the key and the daemon, as CI jobs on one runner do.
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
	"time"

	"github.com/slsabox/slsabox/bench/internal/benchenv"
	"github.com/slsabox/slsabox/bench/internal/stats"
)

const usage = `usage: go run ./bench/load [flags]

Runs -builds builds in series and all at once on one containerd, alternating, and
reports the throughput ratio (series time / parallel time) against -target:
  (a) trivial step: sh -c ': > /out/x' (bench/sandbox (a))
  (b) short step:   sleep 1, then 32 MiB written to /out
Needs root, a running containerd (scripts/containerd.sh start), bin/slsabox and the
testbox image archive; scripts/bench.sh load prepares all of them.

Flags:
`

type options struct {
	n, warmup, builds int
	which             []string
	target            float64
	containerd        string
	namespace         string
	slsabox           string
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
	flag.IntVar(&o.n, "n", 5, "measured rounds (each runs both sides)")
	flag.IntVar(&o.warmup, "warmup", 1, "unmeasured rounds first")
	flag.IntVar(&o.builds, "builds", 8, "builds per side")
	flag.StringVar(&which, "which", "a,b", "workloads: a, b or a,b")
	flag.Float64Var(&o.target, "target", 1.6, "the throughput ratio (series / parallel) must reach it")
	flag.StringVar(&o.containerd, "containerd", benchenv.EnvOr("SLSABOX_CONTAINERD", "/run/slsabox/containerd/containerd.sock"), "containerd socket (env SLSABOX_CONTAINERD)")
	flag.StringVar(&o.namespace, "namespace", "slsabox-bench-load", "containerd namespace of the builds")
	flag.StringVar(&o.slsabox, "slsabox", "bin/slsabox", "slsabox binary")
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

// Benchmark is one workload, run both ways.
type Benchmark struct {
	ID       string  `json:"id"`
	Title    string  `json:"title"`
	Step     string  `json:"step"`
	Series   Side    `json:"series"`
	Parallel Side    `json:"parallel"`
	Ratio    float64 `json:"ratio"`  // Series.Median / Parallel.Median: the throughput gain
	Target   float64 `json:"target"` // Ratio must reach it
	Pass     bool    `json:"pass"`
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
	Wall float64 `json:"wallSeconds"` // first build started to last build finished
	// BuildMedian is the median wall time of one build in the round.
	BuildMedian float64 `json:"buildMedianSeconds"`
	LoadAvg     string  `json:"loadAvg"` // when the round ended
}

type bench struct {
	o       options
	tmp     string
	slsabox string
	key     string
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

// measure makes the projects of bm and runs the rounds: the sides alternate
// (series first in even rounds, parallel first in odd ones), so that a change in the
// machine's other load falls on both.
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
	sides := []struct {
		name string
		side *Side
		run  func(context.Context, []string, string) (Sample, error)
	}{{"series", &bm.Series, b.series}, {"parallel", &bm.Parallel, b.parallel}}
	for i := -b.o.warmup; i < b.o.n; i++ {
		order := []int{0, 1}
		if i%2 != 0 {
			order = []int{1, 0}
		}
		for _, k := range order {
			s := sides[k]
			x, err := s.run(ctx, projects, filepath.Join(b.tmp, fmt.Sprintf("%s-%s-%d", bm.ID, s.name, i)))
			if err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			tag := "warm-up"
			if i >= 0 {
				tag = fmt.Sprintf("%d/%d", i+1, b.o.n)
				s.side.Samples = append(s.side.Samples, x)
			}
			benchenv.Logf("(%s) %-7s %-8s %d builds %7.3fs (one build: median %.3fs; load %s)", bm.ID, tag, s.name, len(projects), x.Wall, x.BuildMedian, x.LoadAvg)
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
	return nil
}

// series builds the projects one after another.
func (b *bench) series(ctx context.Context, projects []string, outs string) (Sample, error) {
	start := time.Now()
	walls := make([]float64, len(projects))
	for i, p := range projects {
		w, err := b.build(ctx, p, filepath.Join(outs, fmt.Sprint(i)))
		if err != nil {
			return Sample{}, err
		}
		walls[i] = w
	}
	return b.sample(start, walls, outs), nil
}

// parallel starts every build at once and waits for all of them.
func (b *bench) parallel(ctx context.Context, projects []string, outs string) (Sample, error) {
	start := time.Now()
	walls := make([]float64, len(projects))
	errs := make([]error, len(projects))
	var wg sync.WaitGroup
	for i, p := range projects {
		wg.Add(1)
		go func() {
			defer wg.Done()
			walls[i], errs[i] = b.build(ctx, p, filepath.Join(outs, fmt.Sprint(i)))
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return Sample{}, err
	}
	return b.sample(start, walls, outs), nil
}

func (b *bench) sample(start time.Time, walls []float64, outs string) Sample {
	x := Sample{Wall: time.Since(start).Seconds(), BuildMedian: stats.Median(walls), LoadAvg: benchenv.LoadAvg()}
	if !b.o.keep {
		os.RemoveAll(outs)
	}
	return x
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
	b.rt.containerd, b.rt.runc = res.Runtime.Containerd, res.Runtime.Runc // the same for every build
	return wall, nil
}

func (r *Report) Print(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "\nmachine: %d CPUs, %s, %s, kernel %s, containerd %s, runc %s\n", m.CPUs, m.MemTotal, m.OS, m.Kernel, m.Containerd, m.Runc)
	signing := "signed with a key, --no-tlog"
	if !r.Signed {
		signing = "--unsigned"
	}
	fmt.Fprintf(w, "load average at start %s, at end %s; %d builds per side (%s); %d measured rounds, alternating, after %d warm-up\n",
		m.LoadAvgStart, m.LoadAvgEnd, r.Builds, signing, r.N, r.Warmup)
	if benchenv.Busy(m.LoadAvgStart, 1.5) {
		fmt.Fprintf(w, "warning: other work was running (1-minute load average above 1.5 at the start); the ratios are disturbed, run again on an idle machine\n")
	}
	for _, bm := range r.Benchmarks {
		fmt.Fprintf(w, "\n(%s) %s: sh -c '%s'\n", bm.ID, bm.Title, bm.Step)
		fmt.Fprintf(w, "  %-10s %9s %9s %9s %14s\n", "side", "median", "min", "max", "one build")
		for _, s := range []struct {
			name string
			side Side
		}{{"series", bm.Series}, {"parallel", bm.Parallel}} {
			if len(s.side.Samples) == 0 {
				continue
			}
			one := make([]float64, len(s.side.Samples))
			for i, x := range s.side.Samples {
				one[i] = x.BuildMedian
			}
			fmt.Fprintf(w, "  %-10s %8.3fs %8.3fs %8.3fs %13.3fs\n", s.name, s.side.Median, s.side.Min, s.side.Max, stats.Median(one))
		}
		if bm.Parallel.Median > 0 {
			verdict := "PASS"
			if !bm.Pass {
				verdict = "FAIL"
			}
			fmt.Fprintf(w, "  throughput: series / parallel = %.2fx (target >= %.2fx): %s\n", bm.Ratio, bm.Target, verdict)
		}
	}
}
