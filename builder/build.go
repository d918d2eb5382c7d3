package builder

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/slsabox/slsabox/internal/hint"
	"golang.org/x/sys/unix"

	"github.com/slsabox/slsabox/internal/idcache"
)

// Builder runs hermetic builds on one containerd daemon.
type Builder struct {
	c          *containerd.Client
	cfg        config
	progressMu sync.Mutex // progress lines come from the sweep and the build at once
}

type config struct {
	namespace   string
	snapshotter string
	workDir     string
	cacheDir    string // inputs fetched by digest, shared by builds
	goProxy     string // GOPROXY for gomod inputs; "" means the host's
	uid, gid    uint32
	userns      UsernsMode
	runtime     string // RuntimeRunc, RuntimeGVisor, or "": the definition's
	runsc       string // the runsc of gVisor steps; "": the one on $PATH
	progress    io.Writer
	stepOutput  io.Writer
}

// Option configures a Builder.
type Option func(*config) error

// WithNamespace sets the containerd namespace (default "slsabox").
func WithNamespace(ns string) Option {
	return func(c *config) error {
		if ns == "" || strings.ContainsAny(ns, "/ \t") {
			return fmt.Errorf("%w: containerd namespace %q is not valid", ErrEnvironment, ns)
		}
		c.namespace = ns
		return nil
	}
}

// WithSnapshotter sets the snapshotter (default overlayfs).
func WithSnapshotter(name string) Option {
	return func(c *config) error {
		if name == "native" {
			return fmt.Errorf("%w: the native snapshotter copies the whole image for every step; use overlayfs", ErrEnvironment)
		}
		c.snapshotter = name
		return nil
	}
}

// WithWorkDir sets where source copies and step outputs live during a build (default os.TempDir()).
func WithWorkDir(dir string) Option {
	return func(c *config) error {
		if dir == "" {
			return fmt.Errorf("%w: empty work directory: name one, or leave the option out for $TMPDIR", ErrInvalidInput)
		}
		c.workDir = dir
		return nil
	}
}

// WithSandboxUser sets the uid and gid steps run as (default 48213 for both, see defaultSandboxUID).
func WithSandboxUser(uid, gid uint32) Option {
	return func(c *config) error {
		if uid == 0 || gid == 0 {
			return fmt.Errorf("%w: steps never run as root (uid/gid 0)", ErrInvalidDefinition)
		}
		c.uid, c.gid = uid, gid
		return nil
	}
}

// WithProgress receives one line per build phase ("exporting source", "step build: ok in 1.2s").
func WithProgress(w io.Writer) Option {
	return func(c *config) error { c.progress = w; return nil }
}

// WithStepOutput receives the steps' stdout and stderr, each line prefixed with "[step] ".
func WithStepOutput(w io.Writer) Option {
	return func(c *config) error { c.stepOutput = w; return nil }
}

// New connects to the containerd daemon listening on address (an absolute socket path).
func New(ctx context.Context, address string, opts ...Option) (*Builder, error) {
	cfg := config{
		namespace:   DefaultNamespace,
		snapshotter: defaultSnapshotter,
		workDir:     os.TempDir(),
		cacheDir:    defaultCacheDir(),
		uid:         defaultSandboxUID,
		gid:         defaultSandboxUID,
		progress:    io.Discard,
		stepOutput:  io.Discard,
	}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	c, err := dial(ctx, address, cfg.namespace)
	if err != nil {
		return nil, err
	}
	return &Builder{c: c, cfg: cfg}, nil
}

// Close releases the connection to containerd.
func (b *Builder) Close() error { return b.c.Close() }

func (b *Builder) ctx(ctx context.Context) context.Context {
	return namespaces.WithNamespace(ctx, b.cfg.namespace)
}

// Sweep removes what crashed builds left in containerd. With all set it also removes
// the objects of builds that still run, which kills them.
func (b *Builder) Sweep(ctx context.Context, all bool) (SweepReport, error) {
	rep, err := sweep(b.ctx(ctx), b.c, b.cfg.snapshotter, all)
	n, werr := sweepWorkDirs(b.cfg.workDir)
	rep.WorkDirs = n
	return rep, errors.Join(err, werr)
}

// Runtime names the daemon and runtime that ran the build.
type Runtime struct {
	Containerd string `json:"containerd"`
	Runc       string `json:"runc,omitempty"`
	// Runsc is gVisor's version, for a build run under gVisor.
	Runsc       string `json:"runsc,omitempty"`
	Snapshotter string `json:"snapshotter"`
	Namespace   string `json:"namespace"`
}

// Runtime reports the versions of containerd and runc.
func (b *Builder) Runtime(ctx context.Context) Runtime {
	return b.runtime(b.ctx(ctx), runcVersion(ctx))
}

// runtime completes what Runtime reports with the runc version already known; ctx
// carries the namespace.
func (b *Builder) runtime(ctx context.Context, runc string) Runtime {
	rt := Runtime{Snapshotter: b.cfg.snapshotter, Namespace: b.cfg.namespace, Runc: runc}
	if v, err := b.c.Version(ctx); err == nil {
		rt.Containerd = v.Version
	}
	return rt
}

// runcVersion asks the runc on $PATH (the one containerd's shim runs) for its version.
// runc is a Go program of about 10 MB: running it costs a build 5 to 10 ms of CPU, so
// the answer is cached under the identity of the runc file (internal/idcache).
func runcVersion(ctx context.Context) string {
	path, err := exec.LookPath("runc")
	if err != nil {
		return ""
	}
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var ran string // what runc said, when it ran
	v, err := idcache.New("runc-version", nil).Get(f, func() (string, error) {
		v, err := runRuncVersion(ctx, path)
		if err != nil {
			return "", err
		}
		ran = v
		// What ran must be the file opened: a runc renamed over path meanwhile would
		// otherwise have its version cached under the identity of the old one.
		fi, ferr := f.Stat()
		pi, perr := os.Stat(path)
		if ferr != nil || perr != nil || !os.SameFile(fi, pi) {
			return "", fmt.Errorf("%s changed while it ran", path)
		}
		return v, nil
	})
	if err != nil {
		return ran
	}
	return v
}

func runRuncVersion(ctx context.Context, path string) (string, error) {
	out, err := exec.CommandContext(ctx, path, "--version").Output()
	if err != nil {
		return "", err
	}
	if f := strings.Fields(strings.SplitN(string(out), "\n", 2)[0]); len(f) >= 3 {
		return f[2], nil
	}
	return "", nil
}

// Request is one build.
type Request struct {
	SourceDir      string // git work tree (or a directory inside one) to build
	DefinitionFile string // default SourceDir/slsabox.yaml
	OutDir         string // where artifacts go; replaced as a whole, only when the build succeeds
	// AllowDirtyTree builds uncommitted changes; the result says so and so will the provenance.
	AllowDirtyTree bool
	// Definition, when set, is used instead of reading DefinitionFile (slsabox rebuild
	// passes the definition recorded in the provenance).
	Definition *Definition
	// Finish, when set, runs after the outputs are collected into the staging directory
	// and before it replaces OutDir: the place to add signed provenance. If it returns an
	// error the outputs are not published, unless the error is wrapped in Publish.
	Finish func(ctx context.Context, stageDir string, res *Result) error
}

// Result is the machine-readable record of a build (slsabox build --output json).
type Result struct {
	BuildID    string         `json:"buildId"`
	Definition DefinitionInfo `json:"definition"`
	Source     *Source        `json:"source"`
	Image      *ResolvedImage `json:"image"`
	Subjects   []Subject      `json:"subjects"`
	// Images are the container images built (images: in slsabox.yaml), subjects too.
	Images     []ImageSubject `json:"images,omitempty"`
	Steps      []StepResult   `json:"steps"`
	Limits     LimitsInfo     `json:"limits"`
	Sandbox    Sandbox        `json:"sandbox"`
	Runtime    Runtime        `json:"runtime"`
	StartedOn  time.Time      `json:"startedOn"`
	FinishedOn time.Time      `json:"finishedOn"`
	LogSHA256  string         `json:"logSha256"`
	// AllowDirtyTree is the flag as given; Source.Dirty says whether the tree was dirty.
	AllowDirtyTree bool   `json:"allowDirtyTree"`
	OutDir         string `json:"outDir"`
	// Inputs are the declared inputs as fetched and verified, in the definition's
	// order, Go modules sorted.
	Inputs []ResolvedInput `json:"inputs,omitempty"`
	// Vendored are the Go modules vendored in the source (vendor/modules.txt beside a
	// go.mod), read before any step ran; sorted.
	Vendored []GoModule `json:"vendored,omitempty"`
	// HostIDs is the host id range the steps' user namespace was mapped onto
	// ("FIRST-LAST"); "" without one. Not in the provenance: it changes from run to run.
	HostIDs string `json:"hostIds,omitempty"`
	// Def is the parsed definition (not serialized: Definition.Content has its bytes).
	Def *Definition `json:"-"`
}

// DefinitionInfo identifies the build definition used.
type DefinitionInfo struct {
	Path    string `json:"path"` // relative to the source directory when inside it
	SHA256  string `json:"sha256"`
	Content string `json:"content"`
}

// LimitsInfo is Limits in units a person reads.
type LimitsInfo struct {
	MemoryBytes     int64  `json:"memoryBytes"`
	Pids            int64  `json:"pids"`
	Timeout         string `json:"timeout"`
	OutputSizeBytes int64  `json:"outputSizeBytes"`
	// CPUs is the CFS quota, CPU-seconds per wall second; 0: none.
	CPUs         float64 `json:"cpus"`
	LogSizeBytes int64   `json:"logSizeBytes"`
	// DiskBytes is the size of the filesystem /src, /out and /tmp share; 0: none.
	DiskBytes int64 `json:"diskBytes"`
}

// Publish marks an error from Request.Finish that should not stop the outputs from
// being published (for example: signed, but the transparency log was down).
type Publish struct{ Err error }

func (p *Publish) Error() string { return p.Err.Error() }
func (p *Publish) Unwrap() error { return p.Err }

func randomID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (b *Builder) progressf(format string, args ...any) {
	b.progressMu.Lock()
	defer b.progressMu.Unlock()
	fmt.Fprintf(b.cfg.progress, format+"\n", args...)
}

// Build runs the build described by req. On success OutDir holds exactly the subjects
// and build.log (plus whatever Finish added); on failure OutDir is left as it was.
func (b *Builder) Build(ctx context.Context, req Request) (res *Result, err error) {
	ctx = b.ctx(ctx)
	cleanCtx := context.WithoutCancel(ctx)
	res = &Result{BuildID: randomID(), StartedOn: time.Now().UTC()}

	if req.SourceDir == "" {
		req.SourceDir = "."
	}
	if req.DefinitionFile == "" {
		req.DefinitionFile = filepath.Join(req.SourceDir, "slsabox.yaml")
	}
	if req.OutDir == "" {
		return nil, fmt.Errorf("%w: no output directory given", ErrInvalidInput)
	}
	def := req.Definition
	if def == nil {
		if def, err = LoadDefinition(req.SourceDir, req.DefinitionFile); err != nil {
			return nil, err
		}
	}
	res.Def = def
	runtimeName, err := chooseRuntime(b.cfg.runtime, def)
	if err != nil {
		return nil, err
	}
	var runsc string // under gVisor: the runsc the steps run with
	if runtimeName == RuntimeGVisor {
		if runsc, err = findRunsc(b.cfg.runsc); err != nil {
			return nil, err
		}
		if err := checkGVisorDaemon(ctx, b.c); err != nil {
			return nil, err
		}
	}
	res.Definition = DefinitionInfo{Path: relTo(req.SourceDir, req.DefinitionFile), SHA256: def.Digest, Content: string(def.Raw)}
	res.Limits = LimitsInfo{MemoryBytes: def.Limits.Memory, Pids: def.Limits.Pids, Timeout: def.Limits.Timeout.String(),
		OutputSizeBytes: def.Limits.OutputSize, CPUs: def.Limits.CPUs, LogSizeBytes: def.Limits.LogSize, DiskBytes: def.Limits.Disk}
	outAbs, err := filepath.Abs(req.OutDir)
	if err != nil {
		return nil, fmt.Errorf("%w: output directory: %w", ErrInvalidInput, err)
	}
	res.OutDir = outAbs
	if err := checkOutDir(outAbs); err != nil {
		return nil, err
	}
	// The steps' user namespace: a host id range now, and whether the host can make
	// one, found out beside the source export (the first probe of a boot takes 5 to
	// 15 ms).
	reserved, err := b.reserveIDs()
	if err != nil {
		return nil, err
	}
	defer reserved.release() // deferred first, so run last: after every container of the build is gone
	userns := sync.OnceValues(func() (usernsDecision, error) { return b.decideUserns(reserved) })
	go userns() //nolint:errcheck // the result is read below
	// owner is the host id of container id id.
	owner := func(id uint32) int {
		if d, _ := userns(); d.use {
			return int(reserved.host(id))
		}
		return int(id)
	}

	work, err := os.MkdirTemp(b.cfg.workDir, "slsabox-"+res.BuildID+"-")
	if err != nil {
		return nil, hint.Wrapf(fmt.Errorf("%w: creating work directory: %w", ErrEnvironment, err), "free disk space or set --work-dir")
	}
	defer os.RemoveAll(work)
	// Written whole or not at all (a sweep that read half an owner would take the
	// build for dead), and without an fsync on every build's start.
	if err := writeOnce(filepath.Join(work, ownerFile), []byte(ownerID()+"\n"), 0o600); err != nil {
		return nil, err
	}
	// With limits.disk, everything the steps write lives on a filesystem of that size.
	writable := work
	var disk string
	if def.Limits.Disk > 0 {
		if disk, err = mountDisk(ctx, work, def.Limits.Disk); err != nil {
			return nil, err
		}
		defer unmountDisk(disk) // before the work directory is removed
		writable = disk
	}
	srcDir, outDir, fifoDir := filepath.Join(writable, "src"), filepath.Join(writable, "out"), filepath.Join(work, "fifo")
	for _, d := range []string{srcDir, outDir, fifoDir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return nil, fmt.Errorf("%w: creating work directory: %w", ErrEnvironment, err)
		}
	}

	rt := make(chan Runtime, 1) // containerd's and runc's (or runsc's) versions, asked meanwhile
	go func(ctx context.Context) {
		if runtimeName == RuntimeGVisor {
			r := b.runtime(ctx, "")
			r.Runsc = runscVersion(ctx, runsc)
			rt <- r
			return
		}
		rt <- b.runtime(ctx, runcVersion(ctx))
	}(ctx)

	// The source export (git, on this host) and then the declared inputs run beside
	// what the daemon prepares: the sweep, the lease and the image. Nothing returns
	// before they have stopped, since they write into work; their failure stops the
	// daemon's side (an image import may take a while) and is the error reported.
	prepCtx, cancelPrep := context.WithCancel(ctx)
	defer cancelPrep()
	b.progressf("exporting source from %s", req.SourceDir)
	var (
		src       *Source
		inputs    *inputsPlan
		vendored  []GoModule
		exportErr error
		exported  = make(chan struct{})
	)
	go func(ctx context.Context) {
		defer close(exported)
		src, exportErr = exportSource(ctx, req.SourceDir, srcDir, req.AllowDirtyTree, outAbs)
		if exportErr == nil {
			_, exportErr = userns() // refused under UsernsRequire: before anything else is done
		}
		if exportErr == nil {
			exportErr = handOver(src.CommitTime, owner(b.cfg.uid), owner(b.cfg.gid), srcDir, outDir)
		}
		if exportErr == nil { // inputs may be declared in files of the source (go.sum)
			inputs, exportErr = b.prepareInputs(ctx, def, srcDir, filepath.Join(work, "inputs"))
		}
		if exportErr == nil { // before any step: the steps may write to /src
			vendored, exportErr = vendoredModules(srcDir)
		}
		if exportErr != nil {
			if ctx.Err() != nil { // Ctrl-C killed git: not the source's fault
				exportErr = fmt.Errorf("%w: exporting the source", ErrInterrupted)
			}
			cancelPrep()
		}
	}(ctx)
	defer func() { <-exported }()
	// exportFirst prefers the export's error (the user's to fix) to the daemon's.
	exportFirst := func(err error) error {
		<-exported
		if exportErr != nil {
			return exportErr
		}
		return err
	}

	// The sweep only touches builds whose owner is gone, so it runs beside this one's
	// preparation too.
	swept := make(chan struct{})
	go func() {
		defer close(swept)
		rep, err := sweep(prepCtx, b.c, b.cfg.snapshotter, false)
		switch {
		case err != nil && prepCtx.Err() == nil:
			b.progressf("warning: could not remove leftovers of crashed builds: %v", err)
		case err == nil && rep.Containers+rep.Snapshots+rep.Leases > 0:
			b.progressf("removed leftovers of crashed builds: %d containers, %d snapshots, %d leases", rep.Containers, rep.Snapshots, rep.Leases)
		}
	}()
	defer func() { cancelPrep(); <-swept }()

	labels := map[string]string{labelBuild: res.BuildID, labelOwner: ownerID()}
	lease, err := b.c.LeasesService().Create(ctx, leases.WithID("slsabox-"+res.BuildID), leases.WithLabels(labels), leases.WithExpiration(leaseExpiry))
	if err != nil {
		return nil, exportFirst(hint.Wrapf(fmt.Errorf("%w: creating a lease: %w", ErrEnvironment, err), "check containerd is healthy"))
	}
	defer func() {
		if derr := b.c.LeasesService().Delete(cleanCtx, lease); derr != nil && err == nil {
			err = fmt.Errorf("%w: releasing the lease: %w", ErrEnvironment, derr)
		}
	}()
	ctx = leases.WithLease(ctx, lease.ID)

	b.progressf("resolving image %s", def.Image.Raw)
	img, err := resolveImage(leases.WithLease(prepCtx, lease.ID), b.c, def.Image, b.cfg.snapshotter, newImageLock(ctx, b.imageLockDir(), def.Image.Digest))
	if err != nil {
		return nil, exportFirst(err)
	}
	if err := exportFirst(nil); err != nil {
		return nil, err
	}
	uns, _ := userns() // its error, if any, was the export's
	if uns.warning != "" {
		b.progressf("%s", uns.warning)
	}
	var ids *idRange // the steps' user namespace; nil: none
	if uns.use {
		ids = reserved
		res.HostIDs = ids.String()
		b.progressf("steps run in a user namespace on host ids %s", ids)
	} else {
		reserved.release()
	}
	if rel, inside := relInside(req.SourceDir, req.DefinitionFile); inside && req.Definition == nil {
		// The definition was read from the work tree, to start on the image early;
		// what is recorded must be the one of the exported source.
		if err := definitionInExport(srcDir, filepath.ToSlash(rel), def, src); err != nil {
			return nil, err
		}
	}
	<-swept
	res.Source = src
	res.Inputs = inputs.resolved
	res.Vendored = vendored
	if src.Dirty {
		b.progressf("warning: building uncommitted changes (--allow-dirty); the provenance records the tree as dirty")
	}
	res.AllowDirtyTree = req.AllowDirtyTree
	res.Image = img
	res.Runtime = <-rt
	res.Sandbox = Sandbox{UID: b.cfg.uid, GID: b.cfg.gid, Network: "none", RootFS: "read-only", Capabilities: "none",
		NoNewPrivs: true, Seccomp: seccompProfile, SeccompDigest: seccompDigest(), TmpSize: tmpSize(def.Limits),
		Hostname: "slsabox", SourceWritable: true, CgroupNamespace: "private", CoreDumps: "disabled", UserNamespace: uns.record,
		Runtime: runtimeName}
	var pod *gvisorPod // the build's gVisor sandbox, which every step joins
	if runtimeName == RuntimeGVisor {
		b.progressf("starting the build's gVisor sandbox")
		if pod, err = startPod(ctx, b.c, fmt.Sprintf("slsabox-%s-pod", res.BuildID), work, runsc, labels, res.Sandbox, ids, def.Limits); err != nil {
			return res, err
		}
		defer func() { // after every step's container is gone
			if perr := pod.stop(cleanCtx); perr != nil && err == nil {
				err = perr
			}
		}()
	}

	logFile, err := os.Create(filepath.Join(work, "build.log"))
	if err != nil {
		return nil, fmt.Errorf("%w: creating build log: %w", ErrEnvironment, err)
	}
	defer logFile.Close()
	logHash := sha256.New()
	logCap := newCappedWriter(io.MultiWriter(logFile, logHash, b.cfg.stepOutput), def.Limits.LogSize)
	sink := &lockedWriter{w: logCap}

	for i, st := range def.Steps {
		sr := StepResult{Name: st.Name, Run: st.Run}
		b.progressf("step %s: %s", st.Name, strings.Join(st.Run, " "))
		stdout, stderr := newPrefixWriter(sink, "["+st.Name+"] "), newPrefixWriter(sink, "["+st.Name+"] ")
		run := &stepRun{
			c: b.c, id: fmt.Sprintf("slsabox-%s-%d", res.BuildID, i), labels: labels,
			snapshotter: b.cfg.snapshotter, parent: img.snapshotParent, sandbox: res.Sandbox, ids: ids,
			args: st.Run, env: inputs.env(stepEnv(img.Env, st.Env, src.CommitTime)), limits: def.Limits,
			srcDir: srcDir, outDir: outDir, inputsDir: inputs.dir, fifoDir: fifoDir, stdout: stdout, stderr: stderr,
		}
		run.pod = pod
		if disk != "" {
			if run.tmpDir, err = stepTmp(disk, i, owner(0)); err != nil {
				return res, err
			}
		}
		serr := run.run(ctx, &sr)
		if disk != "" {
			if diskFull(disk) {
				serr = errDiskFull(st.Name, def.Limits.Disk, serr)
			}
			os.RemoveAll(run.tmpDir) // a fresh /tmp per step, as a tmpfs would be
		}
		stdout.Flush()
		stderr.Flush()
		res.Steps = append(res.Steps, sr)
		if serr != nil {
			b.saveFailedLog(logFile, outAbs)
			return res, serr
		}
		b.progressf("step %s: ok in %s (peak memory %s, cpu %s)", st.Name,
			time.Duration(sr.DurationMS)*time.Millisecond, formatSize(int64(sr.PeakMemory)), time.Duration(sr.CPUTime).Round(time.Millisecond))
	}
	// No fsync of this copy: it is read back into the stage and thrown away with work.
	res.LogSHA256 = hex.EncodeToString(logHash.Sum(nil))
	// Under gVisor, the build's sandbox ends with its last step: nothing of the build
	// may still run while /out is read as root (a Sentry taken over by a step could
	// otherwise swap a directory of /out for a link while it is walked).
	if pod != nil {
		if err := pod.stop(cleanCtx); err != nil {
			return res, err
		}
	}

	stage := outAbs + ".tmp-" + res.BuildID
	if err := os.MkdirAll(filepath.Dir(stage), 0o755); err != nil {
		return res, fmt.Errorf("%w: creating output directory: %w", ErrEnvironment, err)
	}
	if err := os.Mkdir(stage, 0o755); err != nil {
		return res, fmt.Errorf("%w: creating output directory: %w", ErrEnvironment, err)
	}
	defer os.RemoveAll(stage)
	subjects, err := collectOutputs(outDir, stage, def.Outputs, def.Limits.OutputSize)
	if err != nil {
		b.saveFailedLog(logFile, outAbs)
		return res, err
	}
	if err := readSubjectsGo(stage, subjects); err != nil {
		return res, err
	}
	res.Subjects = subjects
	if err := checkSubjectNames(subjects, def.Images); err != nil {
		b.saveFailedLog(logFile, outAbs)
		return res, err
	}
	if len(def.Images) > 0 {
		b.progressf("collecting images: %d", len(def.Images))
	}
	images, err := collectImages(ctx, def, outDir, filepath.Join(work, "images"), stage, src.CommitTime.Unix())
	if err != nil {
		b.saveFailedLog(logFile, outAbs)
		return res, err
	}
	res.Images = images
	res.Inputs = append(res.Inputs, baseInputs(def)...)
	if err := checkGoModules(res); err != nil {
		b.saveFailedLog(logFile, outAbs)
		return res, err
	}
	if logCap.Truncated {
		b.progressf("warning: the build log reached limits.log_size (%s) and was cut there; OUT/build.log ends with a marker", formatSize(def.Limits.LogSize))
	}
	if err := copyFile(logFile.Name(), filepath.Join(stage, "build.log"), 0o644); err != nil {
		return res, fmt.Errorf("%w: writing build log: %w", ErrEnvironment, err)
	}
	if err := os.WriteFile(filepath.Join(stage, outputMarker), []byte(res.BuildID+"\n"), 0o644); err != nil {
		return res, fmt.Errorf("%w: writing outputs: %w", ErrEnvironment, err)
	}
	res.FinishedOn = time.Now().UTC()
	var finishErr error
	if req.Finish != nil {
		finishErr = req.Finish(ctx, stage, res)
		var pub *Publish
		if finishErr != nil && !errors.As(finishErr, &pub) {
			// Signing failed (the key, Fulcio, the TSA) after a good build: OUT stays
			// as it was, but the log and the unsigned artifacts are kept beside it.
			b.saveFailedLog(logFile, outAbs)
			if keepUnpublished(stage, outAbs) == nil {
				b.progressf("the build's artifacts, not signed, are in %s", outAbs+unpublishedSuffix)
			}
			return res, finishErr
		}
	}
	if err := publish(stage, outAbs, res.BuildID); err != nil {
		return res, err
	}
	_ = os.Remove(outAbs + ".failed.log") // from an earlier failure: no longer true
	removeUnpublished(outAbs)
	return res, finishErr
}

// handOver gives the exported source and the empty output directory to the sandbox
// user (its host ids uid and gid), with every time set to the commit time.
func handOver(commitTime time.Time, uid, gid int, dirs ...string) error {
	for _, d := range dirs {
		if err := prepareTree(d, uid, gid, commitTime); err != nil {
			return fmt.Errorf("%w: handing the work directory to the sandbox user: %w", ErrEnvironment, err)
		}
		if err := os.Chmod(d, 0o755); err != nil {
			return fmt.Errorf("%w: %w", ErrEnvironment, err)
		}
	}
	return nil
}

// outputMarker marks a directory as slsabox's output, which a later build may replace.
const outputMarker = ".slsabox-output"

// checkOutDir refuses to replace a directory that is not a previous slsabox output.
func checkOutDir(out string) error {
	entries, err := os.ReadDir(out)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return hint.Wrapf(fmt.Errorf("%w: output directory %s: %w", ErrInvalidInput, out, err), "name a new or empty directory with -o")
	}
	if len(entries) == 0 {
		return nil
	}
	if _, err := os.Stat(filepath.Join(out, outputMarker)); err != nil {
		return hint.Wrapf(fmt.Errorf("%w: output directory %s is not empty and holds no earlier slsabox output", ErrInvalidInput, out),
			"slsabox replaces its output directory as a whole: name a new or empty directory with -o")
	}
	return nil
}

// publish moves the staged outputs into place: OUT holds either the old or the new
// build's files, never a mix, a half-written file, or nothing. An existing OUT is
// swapped with the stage in one renameat2(RENAME_EXCHANGE); the old files then go to
// OUT.old-<id> and are removed. A crash leaves at most that directory, which the next
// publish removes.
func publish(stage, out, id string) error {
	removeLeftovers(out)
	// The renames below are durable only if the files they publish are: one syncfs of
	// the stage's file system writes every artifact, the build log and the provenance
	// (one call, however many files; an fsync per file would cost one each).
	if err := syncFS(stage); err != nil {
		return fmt.Errorf("%w: writing the outputs to disk before publishing them: %w", ErrEnvironment, err)
	}
	old := out + ".old-" + id
	err := unix.Renameat2(unix.AT_FDCWD, stage, unix.AT_FDCWD, out, unix.RENAME_EXCHANGE)
	switch {
	case err == nil:
		// stage now holds the old output.
		if rerr := os.Rename(stage, old); rerr == nil {
			_ = os.RemoveAll(old)
		}
	case errors.Is(err, unix.ENOENT):
		// No OUT yet: a plain rename.
		if err := os.Rename(stage, out); err != nil {
			return fmt.Errorf("%w: publishing outputs to %s: %w", ErrEnvironment, out, err)
		}
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOSYS):
		// A file system without RENAME_EXCHANGE: move the old OUT aside first.
		if err := publishByRename(stage, out, old); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: replacing %s: %w", ErrEnvironment, out, err)
	}
	if d, err := os.Open(filepath.Dir(out)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// syncFS flushes the file system that holds dir.
func syncFS(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return unix.Syncfs(int(d.Fd()))
}

func publishByRename(stage, out, old string) error {
	if err := os.Rename(out, old); err != nil {
		return fmt.Errorf("%w: replacing %s: %w", ErrEnvironment, out, err)
	}
	if err := os.Rename(stage, out); err != nil {
		_ = os.Rename(old, out)
		return fmt.Errorf("%w: publishing outputs to %s: %w", ErrEnvironment, out, err)
	}
	_ = os.RemoveAll(old)
	return nil
}

// removeLeftovers removes what a crashed publish left beside OUT: OUT.old-<id>
// directories holding an earlier output (only those slsabox marked as its own).
func removeLeftovers(out string) {
	dirs, _ := filepath.Glob(out + ".old-*")
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, outputMarker)); err == nil {
			_ = os.RemoveAll(d)
		}
	}
}

// unpublishedSuffix names the directory beside OUT that keeps the artifacts of a
// build whose outputs were not published because Finish (signing) failed.
const unpublishedSuffix = ".failed"

// keepUnpublished moves the staged outputs to OUT.failed (replacing an earlier one
// that slsabox made), instead of throwing them away with the stage.
func keepUnpublished(stage, out string) error {
	removeUnpublished(out)
	return os.Rename(stage, out+unpublishedSuffix)
}

// removeUnpublished removes OUT.failed when slsabox made it (it holds the marker).
func removeUnpublished(out string) {
	d := out + unpublishedSuffix
	if _, err := os.Stat(filepath.Join(d, outputMarker)); err == nil {
		_ = os.RemoveAll(d)
	}
}

// saveFailedLog keeps the log of a failed build beside the (untouched) output directory.
func (b *Builder) saveFailedLog(log *os.File, out string) {
	dst := out + ".failed.log"
	_ = os.Remove(dst)
	if err := copyFile(log.Name(), dst, 0o644); err == nil {
		b.progressf("the failed build's log is in %s", dst)
	}
}

// stepEnv is the exact environment of a step: the image's, then slsabox's
// deterministic defaults (LC_ALL=C.UTF-8, TZ=UTC), then the step's, then the
// variables slsabox owns. The host's environment never enters.
func stepEnv(imageEnv []string, stepEnv []EnvVar, commitTime time.Time) []string {
	var env []string
	set := func(name, value string) { env = setEnv(env, name, value) }
	for _, e := range imageEnv {
		if name, value, ok := strings.Cut(e, "="); ok {
			set(name, value)
		}
	}
	set("LC_ALL", "C.UTF-8")
	set("TZ", "UTC")
	for _, e := range stepEnv {
		set(e.Name, e.Value)
	}
	set("HOME", "/tmp")
	set("SOURCE_DATE_EPOCH", strconv.FormatInt(commitTime.Unix(), 10))
	return env
}

// setEnv sets name to value in env (NAME=value entries), in place if it is there.
func setEnv(env []string, name, value string) []string {
	for i, e := range env {
		if strings.HasPrefix(e, name+"=") {
			env[i] = name + "=" + value
			return env
		}
	}
	return append(env, name+"="+value)
}

// relTo is p relative to base (slash-separated) when p lies inside base, else p's
// absolute path: a file outside the built directory is named as what it is, never as
// if it were a path of the repository.
func relTo(base, p string) string {
	if r, ok := relInside(base, p); ok {
		return filepath.ToSlash(r)
	}
	if ap, err := filepath.Abs(p); err == nil {
		return ap
	}
	return p
}

// definitionInExport checks that the definition read from the work tree (def, at rel
// inside the source directory) is byte for byte the one in the exported source: an
// edit that git status does not show (an ignored file, --assume-unchanged,
// --skip-worktree) would otherwise be built and recorded as the commit's.
func definitionInExport(srcDir, rel string, def *Definition, src *Source) error {
	data, err := readSourceFile(srcDir, rel, maxDefinitionSize)
	if errors.Is(err, fs.ErrNotExist) {
		return hint.Wrapf(fmt.Errorf("%w: %s is not in the exported source (commit %.12s)", ErrDirtyTree, rel, src.Commit),
			"commit it (git add -f if it is ignored), or keep the definition outside the built directory and pass -f")
	}
	if err != nil {
		return sourceFileErr("the build definition", rel, err, "commit slsabox.yaml")
	}
	if !bytes.Equal(data, def.Raw) {
		return hint.Wrapf(fmt.Errorf("%w: %s in the work tree differs from the one in the exported source (commit %.12s), a change git status does not show (ignored, --assume-unchanged or --skip-worktree)", ErrDirtyTree, rel, src.Commit),
			"commit the change, or undo it: git update-index --no-assume-unchanged --no-skip-worktree %s && git checkout -- %s", rel, rel)
	}
	return nil
}
