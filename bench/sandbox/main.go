// Command sandbox measures slsabox's sandbox against its peers, side by side in one
// run (docs/performance.md explains the method and records the results):
//
//	(a) a trivial step through `slsabox build` versus `ctr run --rm` with the same image;
//	(b) a cold `go build cmd/gofmt` inside the sandbox versus the same command on the host;
//	(c) the trivial step of (a) with the sandbox's defences on, against off, and ctr.
//
// The sides of a benchmark run alternately (A, B, B, A, ...: each round starts with the
// next side) after one unmeasured warm-up run each, so that load from elsewhere on the
// machine hits both alike;
// the report gives medians, extremes and the ratio to each target.
//
// Run it through scripts/bench.sh (make bench), which starts the private containerd,
// builds the images and bin/slsabox, and passes its arguments on:
//
//	make bench
//	scripts/bench.sh -which a -n 20 -json bench.json
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
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/slsabox/slsabox/attest/verify"
	"github.com/slsabox/slsabox/bench/internal/benchenv"
	"github.com/slsabox/slsabox/bench/internal/stats"
)

const usage = `usage: go run ./bench/sandbox [flags]

Measures, alternating the sides and taking the median of -n runs each:
  (a) a trivial step: slsabox build vs ctr run --rm, same image (testbox)
      target: slsabox at most 1.3x ctr; signed (-key), at most 1.2x ctr
  (b) a cold go build of cmd/gofmt: in the sandbox (go-toolchain image) vs on
      the host with an empty GOCACHE; target: at most 1.05x host
  (c) the trivial step of (a) with the sandbox's defences on (user namespace,
      limits.disk, limits.cpus) vs off (--no-userns, no disk or CPU limit) vs
      ctr run --rm; target: on at most 1.10x off
  (g) the trivial step of (a) under gVisor (--runtime gvisor, on -gvisor-containerd)
      vs runc vs ctr run --rm; no target: what gVisor costs a build
  (h) the cold go build of (b) under gVisor vs runc vs the host; no target
(g) and (h) need the containerd of scripts/gvisor.sh and SLSABOX_RUNSC (eval
"$(scripts/gvisor.sh env)"); they are not in the default -which.
Needs root, a running containerd (scripts/containerd.sh start), bin/slsabox and
the image archives; scripts/bench.sh (make bench) prepares all of them.

Flags:
`

type options struct {
	n, warmup  int
	which      []string
	containerd string
	namespace  string
	slsabox    string
	ctr        string
	hostGo     string
	testbox    string
	goImage    string
	jsonOut    string
	key        string
	keep       bool
	gvisor     string // the socket of a containerd that runs gVisor steps, for (g) and (h)
}

func main() {
	var o options
	var which string
	flag.Usage = func() {
		fmt.Fprint(flag.CommandLine.Output(), usage)
		flag.PrintDefaults()
	}
	flag.IntVar(&o.n, "n", 10, "measured runs per side (at least 10 for a report)")
	flag.IntVar(&o.warmup, "warmup", 1, "unmeasured runs per side before measuring")
	flag.StringVar(&which, "which", "a,b,c", "benchmarks to run, comma-separated: a, b, c, g, h")
	flag.StringVar(&o.gvisor, "gvisor-containerd", os.Getenv("SLSABOX_GVISOR_CONTAINERD"), "containerd socket that runs gVisor steps, for (g) and (h) (env SLSABOX_GVISOR_CONTAINERD; scripts/gvisor.sh start)")
	flag.StringVar(&o.containerd, "containerd", benchenv.EnvOr("SLSABOX_CONTAINERD", "/run/slsabox/containerd/containerd.sock"), "containerd socket (env SLSABOX_CONTAINERD)")
	flag.StringVar(&o.namespace, "namespace", "slsabox-bench", "containerd namespace for both slsabox and ctr")
	flag.StringVar(&o.slsabox, "slsabox", "bin/slsabox", "slsabox binary")
	flag.StringVar(&o.ctr, "ctr", "ctr", "ctr binary")
	flag.StringVar(&o.hostGo, "go", "/usr/local/go/bin/go", "host go command for (b); should be the image's Go version")
	flag.StringVar(&o.testbox, "testbox", ".cache/images/testbox.tar", "image for (a): an OCI archive, or oci-archive:PATH@sha256:DIGEST")
	flag.StringVar(&o.goImage, "go-image", ".cache/images/go-toolchain.tar", "image for (b): an OCI archive, or oci-archive:PATH@sha256:DIGEST")
	flag.StringVar(&o.jsonOut, "json", "", "also write every sample and the summary as JSON to this file")
	flag.StringVar(&o.key, "key", "", "sign the provenance with this key (slsabox keygen) and --no-tlog; default --unsigned, the sandbox alone")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary projects and outputs")
	flag.Parse()
	if flag.NArg() > 0 {
		benchenv.Fail(fmt.Errorf("unexpected arguments %q", flag.Args()), "flags only; see -h")
	}
	for _, w := range strings.Split(which, ",") {
		if w = strings.TrimSpace(w); !slices.Contains([]string{"a", "b", "c", "g", "h"}, w) {
			benchenv.Fail(fmt.Errorf("-which %q: want a comma-separated list of a, b, c, g and h", which), "")
		}
		if (w == "g" || w == "h") && o.gvisor == "" {
			benchenv.Fail(fmt.Errorf("-which %s needs -gvisor-containerd", w), `scripts/gvisor.sh start && eval "$(scripts/gvisor.sh env)"`)
		}
		o.which = append(o.which, strings.TrimSpace(w))
	}
	if o.n < 1 || o.warmup < 0 {
		benchenv.Fail(errors.New("-n must be at least 1 and -warmup at least 0"), "")
	}

	benchenv.Main(func(ctx context.Context) (benchenv.Report, error) {
		rep, err := run(ctx, o)
		if rep == nil {
			return nil, err
		}
		return rep, err
	}, o.jsonOut)
}

// Report is what one run of the benchmark found; -json writes it as is.
type Report struct {
	Machine    Machine     `json:"machine"`
	N          int         `json:"n"`
	Warmup     int         `json:"warmup"`
	Benchmarks []Benchmark `json:"benchmarks"`
}

// Machine describes where the numbers come from.
type Machine struct {
	benchenv.Host
	Containerd   string `json:"containerd"`
	Runc         string `json:"runc"`
	HostGo       string `json:"hostGo,omitempty"`
	LoadAvgStart string `json:"loadAvgStart"`
	LoadAvgEnd   string `json:"loadAvgEnd"`
}

// Benchmark is one comparison; Sides[0] is slsabox and Sides[1] the baseline the target is for.
type Benchmark struct {
	ID     string  `json:"id"`
	Title  string  `json:"title"`
	Sides  []*Side `json:"sides"`
	Ratio  float64 `json:"ratio"`  // median of Sides[0] / median of Sides[1]
	Target float64 `json:"target"` // the ratio must not exceed it
	Pass   bool    `json:"pass"`
	// SameBinary reports for (b) whether every run, inside and outside the sandbox,
	// produced the same bytes.
	SameBinary *bool    `json:"sameBinary,omitempty"`
	Notes      []string `json:"notes,omitempty"`
}

// Side is one way of doing the same work.
type Side struct {
	Name    string   `json:"name"`
	Command string   `json:"command"`
	Samples []Sample `json:"samples"`
	Median  float64  `json:"medianSeconds"`
	Min     float64  `json:"minSeconds"`
	Max     float64  `json:"maxSeconds"`
	// For slsabox: medians of the time inside builder.Build (startedOn to finishedOn)
	// and of the step alone (container creation to removal), from --output json.
	BuildMedian float64 `json:"buildMedianSeconds,omitempty"`
	StepMedian  float64 `json:"stepMedianSeconds,omitempty"`
	CPUMedian   float64 `json:"cpuMedianSeconds,omitempty"`

	run func(ctx context.Context, i int) (Sample, error)
}

// Sample is one measured run.
type Sample struct {
	Wall  float64 `json:"wallSeconds"`
	Build float64 `json:"buildSeconds,omitempty"`
	Step  float64 `json:"stepSeconds,omitempty"`
	// CPU is user+system time of the build's processes: the step's cgroup for
	// slsabox, go build and its children on the host; not measured for ctr.
	CPU    float64 `json:"cpuSeconds,omitempty"`
	SHA256 string  `json:"sha256,omitempty"`
}

type bench struct {
	o       options
	tmp     string
	slsabox string
	seq     int
}

func run(ctx context.Context, o options) (*Report, error) {
	var err error
	b := &bench{o: o}
	if b.slsabox, err = filepath.Abs(o.slsabox); err != nil {
		return nil, err
	}
	if _, err := os.Stat(b.slsabox); err != nil {
		return nil, fmt.Errorf("slsabox binary: %w (build it: go build -o bin/slsabox ./cmd/slsabox)", err)
	}
	if _, err := exec.LookPath(o.ctr); err != nil {
		return nil, fmt.Errorf("ctr: %w (apt-get install containerd)", err)
	}
	if b.tmp, err = os.MkdirTemp("", "slsabox-bench-"); err != nil {
		return nil, err
	}
	if o.keep {
		benchenv.Logf("keeping %s", b.tmp)
	} else {
		defer os.RemoveAll(b.tmp)
	}

	rep := &Report{N: o.n, Warmup: o.warmup, Machine: machine(ctx, o)}
	defer func() { rep.Machine.LoadAvgEnd = benchenv.LoadAvg() }()
	for _, w := range o.which {
		var bm *Benchmark
		switch w {
		case "a":
			bm, err = b.trivial(ctx)
		case "b":
			bm, err = b.goBuild(ctx)
		case "c":
			bm, err = b.defences(ctx)
		case "g":
			bm, err = b.gvisorTrivial(ctx)
		case "h":
			bm, err = b.gvisorGoBuild(ctx)
		}
		if bm != nil {
			rep.Benchmarks = append(rep.Benchmarks, *bm)
		}
		if err != nil {
			return rep, fmt.Errorf("benchmark %s: %w", w, err)
		}
	}
	return rep, nil
}

// trivial is (a): the fixed cost of one build with one trivial step. Every side runs
// the same command, sh -c ': > /out/x', in the same image: slsabox needs one output
// file to succeed, and the ctr sides do the same small write.
func (b *bench) trivial(ctx context.Context) (*Benchmark, error) {
	img, err := benchenv.ImportImage(ctx, b.o.ctr, b.o.containerd, b.o.namespace, b.o.testbox)
	if err != nil {
		return nil, err
	}
	script := ": > /out/x"
	proj, err := b.project("trivial", img, `steps:
  - name: noop
    run: [sh, -c, ": > /out/x"]
outputs: ["/out/x"]
`)
	if err != nil {
		return nil, err
	}
	ctrBase := []string{"-a", b.o.containerd, "-n", b.o.namespace, "run", "--rm", "--snapshotter", "overlayfs"}
	plain := slices.Concat(ctrBase, []string{img.Name, "ID", "sh", "-c", script})
	bind := filepath.Join(b.tmp, "ctr-out")
	if err := os.Mkdir(bind, 0o755); err != nil {
		return nil, err
	}
	// The knobs of slsabox's sandbox that ctr 1.6 has flags for: read-only root
	// (ctr still prepares a writable snapshot and has runc remount it), the default
	// seccomp profile, the memory limit, a bind for /out and a tmpfs /tmp.
	matched := slices.Concat(ctrBase, []string{"--read-only", "--seccomp", "--memory-limit", "2147483648",
		"--mount", "type=bind,src=" + bind + ",dst=/out,options=rbind:rw:nosuid:nodev",
		"--mount", "type=tmpfs,src=tmpfs,dst=/tmp,options=nosuid:nodev:mode=1777",
		img.Name, "ID", "sh", "-c", script})
	target := 1.3
	if b.o.key != "" {
		target = 1.2 // issue 14: a signed --no-tlog build at most 1.2x ctr run --rm
	}
	bm := &Benchmark{ID: "a", Title: "trivial step, " + img.Name, Target: target, Sides: []*Side{
		b.slsaboxSide(proj),
		b.ctrSide("ctr run --rm", plain),
		b.ctrSide("ctr run --rm, sandbox flags", matched),
	}}
	bm.Notes = append(bm.Notes, b.signingNote(),
		"all sides run sh -c ': > /out/x'; the target is judged against plain ctr run --rm",
		"ctr run always prepares a writable overlayfs snapshot; slsabox takes a read-only view",
		"ctr runs as root with the default capabilities; slsabox as uid 48213 with none, pids and swap limits, and a fresh network namespace for both")
	return bm, b.measure(ctx, bm)
}

// defences is (c): what issue 18's defences add to the fixed cost of a build. The
// trivial step of (a) with every defence on (the user namespace, limits.disk, a CPU
// quota, and what is always on: the log cap, a cgroup namespace, RLIMIT_CORE 0),
// against the same build with the user namespace turned off (--no-userns) and no
// disk or CPU limit, and against ctr run --rm. The target is on/off.
func (b *bench) defences(ctx context.Context) (*Benchmark, error) {
	img, err := benchenv.ImportImage(ctx, b.o.ctr, b.o.containerd, b.o.namespace, b.o.testbox)
	if err != nil {
		return nil, err
	}
	const step = `steps:
  - name: noop
    run: [sh, -c, ": > /out/x"]
outputs: ["/out/x"]
`
	on, err := b.project("defences-on", img, step+fmt.Sprintf("limits: {disk: 1GiB, cpus: %d}\n", runtime.NumCPU()))
	if err != nil {
		return nil, err
	}
	off, err := b.project("defences-off", img, step)
	if err != nil {
		return nil, err
	}
	plain := []string{"-a", b.o.containerd, "-n", b.o.namespace, "run", "--rm", "--snapshotter", "overlayfs", img.Name, "ID", "sh", "-c", ": > /out/x"}
	bm := &Benchmark{ID: "c", Title: "defences on against off, trivial step, " + img.Name, Target: 1.10, Sides: []*Side{
		b.slsaboxSideNamed("slsabox build, defences on", on, "--require-userns"), // never on without the namespace
		b.slsaboxSideNamed("slsabox build, defences off", off, "--no-userns"),
		b.ctrSide("ctr run --rm", plain),
	}}
	bm.Notes = append(bm.Notes, b.signingNote(),
		fmt.Sprintf("on: a user namespace, limits.disk 1GiB (an ext4 filesystem on a loop device for /src, /out and /tmp), limits.cpus %d (CFS quota); off: --no-userns, no limits.disk or limits.cpus", runtime.NumCPU()),
		"the log cap, the cgroup namespace and RLIMIT_CORE 0 cannot be turned off: both sides have them",
		"the target is judged against defences off: the fixed overhead grows by at most 10%")
	return bm, b.measure(ctx, bm)
}

// goBuild is (b): a cold build of a real multi-package program, cmd/gofmt from the
// Go distribution, with the same Go release and settings inside and outside.
func (b *bench) goBuild(ctx context.Context) (*Benchmark, error) {
	img, err := benchenv.ImportImage(ctx, b.o.ctr, b.o.containerd, b.o.namespace, b.o.goImage)
	if err != nil {
		return nil, err
	}
	ver, err := exec.CommandContext(ctx, b.o.hostGo, "version").Output()
	if err != nil {
		return nil, fmt.Errorf("host go %s: %w", b.o.hostGo, err)
	}
	proj, host, err := b.gofmtProject(ctx, img, "gofmt")
	if err != nil {
		return nil, err
	}
	bm := &Benchmark{ID: "b", Title: "cold go build cmd/gofmt, " + strings.TrimSpace(string(ver)), Target: 1.05,
		Sides: []*Side{b.slsaboxSide(proj), host}}
	bm.Notes = append(bm.Notes, b.signingNote(),
		"the sandbox runs with its defences on: a user namespace, limits.disk 4GiB (/tmp, and with it GOCACHE, on that filesystem) and limits.cpus "+fmt.Sprint(runtime.NumCPU()),
		"the host's GOCACHE is a fresh directory under $TMPDIR",
		"both builds read GOROOT at /usr/local/go, which is in the page cache after the warm-up")
	err = b.measure(ctx, bm)
	if err == nil {
		bm.SameBinary = sameBinary(bm)
	}
	return bm, err
}

// sameBinary says whether every side of bm built the same bytes.
func sameBinary(bm *Benchmark) *bool {
	same := true
	want := bm.Sides[0].Samples[0].SHA256
	for _, s := range bm.Sides {
		for _, x := range s.Samples {
			same = same && x.SHA256 == want
		}
	}
	return &same
}

// gofmtProject is the project of (b) and (h), a cold go build of cmd/gofmt in img,
// and the same build on the host.
func (b *bench) gofmtProject(ctx context.Context, img benchenv.Image, name string) (string, *Side, error) {
	proj, err := b.project(name, img, `steps:
  - name: gofmt
    run: [go, build, -o, /out/gofmt, cmd/gofmt]
    env: {GOCACHE: /tmp/gocache, CGO_ENABLED: "0", GOFLAGS: -trimpath}
outputs: ["/out/gofmt"]
limits: {memory: 4GiB, timeout: 10m, disk: 4GiB, cpus: `+fmt.Sprint(runtime.NumCPU())+`}
`)
	if err != nil {
		return "", nil, err
	}
	empty := filepath.Join(b.tmp, "host-cwd-"+name)
	if err := os.Mkdir(empty, 0o755); err != nil {
		return "", nil, err
	}
	host := &Side{Name: "host go build",
		Command: "GOCACHE=$(mktemp -d) CGO_ENABLED=0 GOFLAGS=-trimpath GOTOOLCHAIN=local GOENV=off " + b.o.hostGo + " build -o OUT cmd/gofmt"}
	host.run = func(ctx context.Context, i int) (Sample, error) {
		cache, err := os.MkdirTemp(b.tmp, "gocache-")
		if err != nil {
			return Sample{}, err
		}
		defer os.RemoveAll(cache)
		out := filepath.Join(b.tmp, fmt.Sprintf("host-gofmt-%d", i))
		defer os.Remove(out)
		cmd := exec.CommandContext(ctx, b.o.hostGo, "build", "-o", out, "cmd/gofmt")
		cmd.Dir = empty
		cmd.Env = hostGoEnv(cache)
		wall, err := benchenv.Timed(cmd)
		if err != nil {
			return Sample{}, err
		}
		sum, err := verify.FileDigest(out)
		cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		return Sample{Wall: wall, CPU: cpu.Seconds(), SHA256: sum}, err
	}
	return proj, host, nil
}

// gvisorArgs run a slsabox side's build under gVisor, on the gVisor containerd.
func (b *bench) gvisorArgs() []string {
	return []string{"--runtime", "gvisor", "--containerd-address", b.o.gvisor}
}

// gvisorTrivial is (g): the trivial step of (a) under gVisor, against runc and ctr.
func (b *bench) gvisorTrivial(ctx context.Context) (*Benchmark, error) {
	img, err := benchenv.ImportImage(ctx, b.o.ctr, b.o.containerd, b.o.namespace, b.o.testbox)
	if err != nil {
		return nil, err
	}
	proj, err := b.project("gvisor-trivial", img, `steps:
  - name: noop
    run: [sh, -c, ": > /out/x"]
outputs: ["/out/x"]
`)
	if err != nil {
		return nil, err
	}
	plain := []string{"-a", b.o.containerd, "-n", b.o.namespace, "run", "--rm", "--snapshotter", "overlayfs", img.Name, "ID", "sh", "-c", ": > /out/x"}
	bm := &Benchmark{ID: "g", Title: "gVisor against runc, trivial step, " + img.Name, Sides: []*Side{
		b.slsaboxSideNamed("slsabox build, gVisor", proj, b.gvisorArgs()...),
		b.slsaboxSideNamed("slsabox build, runc", proj),
		b.ctrSide("ctr run --rm", plain),
	}}
	bm.Notes = append(bm.Notes, b.signingNote(),
		"gVisor: containerd 2.4.2 and runsc (scripts/gvisor.sh), one gVisor sandbox per build (a pod: a root container that waits, the step a container that joins it); runc: the default containerd",
		"no target: the ratio is what running the steps under gVisor costs a build")
	return bm, b.measure(ctx, bm)
}

// gvisorGoBuild is (h): the cold go build of (b) under gVisor, against runc and the host.
func (b *bench) gvisorGoBuild(ctx context.Context) (*Benchmark, error) {
	img, err := benchenv.ImportImage(ctx, b.o.ctr, b.o.containerd, b.o.namespace, b.o.goImage)
	if err != nil {
		return nil, err
	}
	proj, host, err := b.gofmtProject(ctx, img, "gvisor-gofmt")
	if err != nil {
		return nil, err
	}
	bm := &Benchmark{ID: "h", Title: "gVisor against runc, cold go build cmd/gofmt", Sides: []*Side{
		b.slsaboxSideNamed("slsabox build, gVisor", proj, b.gvisorArgs()...),
		b.slsaboxSideNamed("slsabox build, runc", proj),
		host,
	}}
	bm.Notes = append(bm.Notes, b.signingNote(),
		"both sandboxes with the defences of (b): a user namespace, limits.disk 4GiB, limits.cpus "+fmt.Sprint(runtime.NumCPU()),
		"no target: the ratio is what running the steps under gVisor costs a build that makes many system calls")
	err = b.measure(ctx, bm)
	if err == nil {
		bm.SameBinary = sameBinary(bm)
	}
	return bm, err
}

// measure runs the sides in turn, warm-up rounds first, and fills in the statistics.
func (b *bench) measure(ctx context.Context, bm *Benchmark) error {
	for i := -b.o.warmup; i < b.o.n; i++ {
		// Each round starts with the next side, so that no side always runs right
		// after the same other one (and inherits, say, its cleanup).
		for k := range bm.Sides {
			s := bm.Sides[(k+i+b.o.warmup)%len(bm.Sides)]
			x, err := s.run(ctx, i)
			if err != nil {
				return fmt.Errorf("%s: %w", s.Name, err)
			}
			tag := "warm-up"
			if i >= 0 {
				tag = fmt.Sprintf("%d/%d", i+1, b.o.n)
				s.Samples = append(s.Samples, x)
			}
			benchenv.Logf("(%s) %-7s %-28s %7.3fs", bm.ID, tag, s.Name, x.Wall)
		}
	}
	for _, s := range bm.Sides {
		walls := collect(s.Samples, func(x Sample) float64 { return x.Wall })
		s.Median, s.Min, s.Max = stats.Median(walls), slices.Min(walls), slices.Max(walls)
		if s.Samples[0].Build > 0 {
			s.BuildMedian = stats.Median(collect(s.Samples, func(x Sample) float64 { return x.Build }))
			s.StepMedian = stats.Median(collect(s.Samples, func(x Sample) float64 { return x.Step }))
		}
		if s.Samples[0].CPU > 0 {
			s.CPUMedian = stats.Median(collect(s.Samples, func(x Sample) float64 { return x.CPU }))
		}
	}
	bm.Ratio = bm.Sides[0].Median / bm.Sides[1].Median
	bm.Pass = bm.Target == 0 || bm.Ratio <= bm.Target // 0: no target, a figure to report
	return nil
}

// slsaboxSide builds proj with the slsabox binary into a fresh output directory.
func (b *bench) slsaboxSide(proj string) *Side {
	return b.slsaboxSideNamed("slsabox build", proj)
}

// slsaboxSideNamed is a slsabox build of proj with extra flags.
func (b *bench) slsaboxSideNamed(name, proj string, extra ...string) *Side {
	args := []string{"build", proj, "-o", "OUT", "--containerd-address", b.o.containerd, "--namespace", b.o.namespace, "--output", "json", "-q"}
	if b.o.key != "" {
		args = append(args, "--key", b.o.key, "--no-tlog")
	} else {
		args = append(args, "--unsigned")
	}
	args = append(args, extra...)
	s := &Side{Name: name, Command: "slsabox " + strings.Join(args, " ")}
	s.run = func(ctx context.Context, i int) (Sample, error) {
		out := filepath.Join(b.tmp, fmt.Sprintf("out-%s-%d", filepath.Base(proj), i))
		defer os.RemoveAll(out)
		a := slices.Clone(args)
		a[3] = out
		cmd := exec.CommandContext(ctx, b.slsabox, a...)
		var stdout bytes.Buffer
		cmd.Stdout = &stdout
		wall, err := benchenv.Timed(cmd)
		if err != nil {
			return Sample{}, err
		}
		var res struct {
			StartedOn  time.Time `json:"startedOn"`
			FinishedOn time.Time `json:"finishedOn"`
			Steps      []struct {
				DurationMS int64  `json:"durationMs"`
				CPUTimeNS  uint64 `json:"cpuTimeNs"`
			} `json:"steps"`
			Subjects []struct {
				SHA256 string `json:"sha256"`
			} `json:"subjects"`
		}
		if err := json.Unmarshal(stdout.Bytes(), &res); err != nil || len(res.Subjects) == 0 {
			return Sample{}, fmt.Errorf("reading slsabox --output json: %w", err)
		}
		x := Sample{Wall: wall, Build: res.FinishedOn.Sub(res.StartedOn).Seconds(), SHA256: res.Subjects[0].SHA256}
		for _, st := range res.Steps {
			x.Step += float64(st.DurationMS) / 1000
			x.CPU += float64(st.CPUTimeNS) / 1e9
		}
		return x, nil
	}
	return s
}

func (b *bench) signingNote() string {
	if b.o.key != "" {
		return "slsabox signs the provenance (--key " + b.o.key + " --no-tlog)"
	}
	return "slsabox runs with --unsigned: the sandbox alone, no provenance"
}

// ctrSide runs ctr with args, the container ID argument "ID" made unique per run.
func (b *bench) ctrSide(name string, args []string) *Side {
	s := &Side{Name: name, Command: "ctr " + strings.Join(args, " ")}
	s.run = func(ctx context.Context, i int) (Sample, error) {
		b.seq++
		a := slices.Clone(args)
		a[slices.Index(a, "ID")] = fmt.Sprintf("slsabox-bench-%d-%d", os.Getpid(), b.seq)
		wall, err := benchenv.Timed(exec.CommandContext(ctx, b.o.ctr, a...))
		return Sample{Wall: wall}, err
	}
	return s
}

// hostGoEnv is the caller's environment without any GO* setting, plus the build's own.
func hostGoEnv(cache string) []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "GO") && !strings.HasPrefix(e, "CGO_") {
			env = append(env, e)
		}
	}
	return append(env, "GOCACHE="+cache, "CGO_ENABLED=0", "GOFLAGS=-trimpath", "GOTOOLCHAIN=local", "GOENV=off")
}

// project writes a one-commit git repository whose slsabox.yaml pins img and adds
// body (steps, outputs, limits). The commit date is fixed, and so is SOURCE_DATE_EPOCH.
func (b *bench) project(name string, img benchenv.Image, body string) (string, error) {
	dir := filepath.Join(b.tmp, name)
	def := fmt.Sprintf("version: 1\nimage: oci-archive:%s@%s\n%s", img.Archive, img.Digest, body)
	return dir, benchenv.GitProject(dir, map[string]string{"slsabox.yaml": def})
}

func collect(xs []Sample, f func(Sample) float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

func machine(ctx context.Context, o options) Machine {
	m := Machine{Host: benchenv.ReadHost(), LoadAvgStart: benchenv.LoadAvg()}
	if out, err := exec.CommandContext(ctx, o.ctr, "-a", o.containerd, "version").Output(); err == nil {
		// The second "Version:" line is the server's.
		if v := strings.Split(string(out), "Version:"); len(v) >= 3 {
			m.Containerd = strings.TrimSpace(strings.SplitN(v[2], "\n", 2)[0])
		}
	}
	if out, err := exec.CommandContext(ctx, "runc", "--version").Output(); err == nil {
		if f := strings.Fields(strings.SplitN(string(out), "\n", 2)[0]); len(f) >= 3 {
			m.Runc = f[2]
		}
	}
	if slices.Contains(o.which, "b") {
		if out, err := exec.CommandContext(ctx, o.hostGo, "version").Output(); err == nil {
			m.HostGo = strings.TrimSpace(string(out))
		}
	}
	return m
}

func (r *Report) Print(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "\nmachine: %d CPUs, %s, %s, kernel %s, containerd %s, runc %s\n", m.CPUs, m.MemTotal, m.OS, m.Kernel, m.Containerd, m.Runc)
	fmt.Fprintf(w, "load average at start %s, at end %s; %d measured runs per side, alternating, after %d warm-up\n", m.LoadAvgStart, m.LoadAvgEnd, r.N, r.Warmup)
	if benchenv.Busy(m.LoadAvgStart, 1.5) {
		// A step's processes share one CPU cgroup, which competes with every host
		// process as a single entity: other load slows the sandbox side more.
		fmt.Fprintf(w, "warning: other work was running (1-minute load average above 1.5 at the start); the ratios are disturbed, run again on an idle machine\n")
	}
	for _, bm := range r.Benchmarks {
		fmt.Fprintf(w, "\n(%s) %s\n", bm.ID, bm.Title)
		fmt.Fprintf(w, "  %-30s %9s %9s %9s %9s\n", "side", "median", "min", "max", "ratio")
		for i, s := range bm.Sides {
			if len(s.Samples) == 0 {
				continue
			}
			ratio := ""
			if i > 0 && s.Median > 0 {
				ratio = fmt.Sprintf("%.2fx", bm.Sides[0].Median/s.Median)
			}
			fmt.Fprintf(w, "  %-30s %8.3fs %8.3fs %8.3fs %9s\n", s.Name, s.Median, s.Min, s.Max, ratio)
			if s.BuildMedian > 0 {
				fmt.Fprintf(w, "  %-30s %8.3fs   (step: container create to removal)\n", "  of which step", s.StepMedian)
				fmt.Fprintf(w, "  %-30s %8.3fs   (builder.Build: startedOn to finishedOn)\n", "  of which Build", s.BuildMedian)
			}
			if (bm.ID == "b" || bm.ID == "h") && s.CPUMedian > 0 {
				fmt.Fprintf(w, "  %-30s %8.3fs   (user+system of the build's processes)\n", "  CPU time", s.CPUMedian)
			}
		}
		if bm.Sides[0].Median > 0 && bm.Sides[1].Median > 0 {
			verdict := "PASS"
			if !bm.Pass {
				verdict = "FAIL"
			}
			if bm.Target == 0 {
				fmt.Fprintf(w, "  %s / %s: %.3fx (no target)\n", bm.Sides[0].Name, bm.Sides[1].Name, bm.Ratio)
			} else {
				fmt.Fprintf(w, "  slsabox / %s: %.3fx (target <= %.2fx): %s\n", bm.Sides[1].Name, bm.Ratio, bm.Target, verdict)
			}
		}
		if bm.SameBinary != nil {
			if *bm.SameBinary {
				fmt.Fprintf(w, "  gofmt binaries: identical in every run, sandbox and host (sha256 %s)\n", bm.Sides[0].Samples[0].SHA256)
			} else {
				fmt.Fprintf(w, "  gofmt binaries: DIFFER (sandbox %s, host %s)\n", bm.Sides[0].Samples[0].SHA256, bm.Sides[1].Samples[0].SHA256)
			}
		}
		for _, n := range bm.Notes {
			fmt.Fprintf(w, "  note: %s\n", n)
		}
	}
}
