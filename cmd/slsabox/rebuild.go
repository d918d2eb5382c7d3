//go:build !slsabox_verifyonly

package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/spf13/cobra"

	"github.com/slsabox/slsabox/attest"
	"github.com/slsabox/slsabox/attest/verify"
	"github.com/slsabox/slsabox/builder"
	"github.com/slsabox/slsabox/internal/hint"
	"github.com/slsabox/slsabox/internal/version"
)

// errNotReproduced: the rebuild ran, and some subject differs from the provenance (exit 1).
var errNotReproduced = errors.New("not reproduced")

type rebuildOptions struct {
	bundle    string
	trust     trustFlags
	identity  identityFlags
	builderID string
	sourceURI string
	out       string
	inputs    inputFlags
	workDir   string
	userns    bool // --require-userns
	runtime   runtimeFlag
	vsa       vsaFlags
}

// inputFlags are the build's and the rebuild's say in how declared inputs are fetched.
type inputFlags struct {
	cacheDir string
	goProxy  string
}

func (f *inputFlags) register(fs interface {
	StringVar(*string, string, string, string)
}) {
	fs.StringVar(&f.cacheDir, "cache-dir", "", "where declared inputs are cached by digest (default $SLSABOX_CACHE_DIR, else ~/.cache/slsabox/inputs)")
	fs.StringVar(&f.goProxy, "goproxy", os.Getenv("SLSABOX_GOPROXY"), "GOPROXY list that gomod inputs are fetched through (env SLSABOX_GOPROXY; default the host's go env GOPROXY)")
}

func (f *inputFlags) options() []builder.Option {
	var opts []builder.Option
	if f.cacheDir != "" {
		opts = append(opts, builder.WithCacheDir(f.cacheDir))
	}
	if f.goProxy != "" {
		opts = append(opts, builder.WithGoProxy(f.goProxy))
	}
	return opts
}

// runtimeFlag is --runtime, the runtime a build's or a rebuild's steps run with, and
// --runsc, the runsc of gVisor steps.
type runtimeFlag struct{ name, runsc string }

func (f *runtimeFlag) register(fs interface {
	StringVar(*string, string, string, string)
}) {
	fs.StringVar(&f.name, "runtime", os.Getenv("SLSABOX_RUNTIME"), "runtime the steps run with: runc, or gvisor (gVisor's user-space kernel; needs containerd 1.7+ with its runsc shim, see scripts/gvisor.sh) (env SLSABOX_RUNTIME; default the definition's sandbox.runtime, else runc)")
	fs.StringVar(&f.runsc, "runsc", os.Getenv("SLSABOX_RUNSC"), "absolute path of the runsc that gVisor steps run with, which the provenance records (env SLSABOX_RUNSC; default runsc on PATH)")
}

func (f *runtimeFlag) options() []builder.Option {
	var opts []builder.Option
	if f.name != "" {
		opts = append(opts, builder.WithRuntime(f.name))
	}
	if f.runsc != "" {
		opts = append(opts, builder.WithRunsc(f.runsc))
	}
	return opts
}

func newRebuildCmd(g *globalOptions) *cobra.Command {
	o := &rebuildOptions{}
	cmd := &cobra.Command{
		Use:   "rebuild --bundle B (--key K.pub | --certificate-identity ID --certificate-oidc-issuer URL) [DIR]",
		Short: "Run a recorded build again and compare every artifact's digest with its provenance",
		Long: `rebuild verifies the bundle (signature by --key, and the transparency log proof
against --trusted-root unless --no-tlog-unsafe), reads the build its provenance records
(source commit, build definition, builder image digest, declared inputs), builds that
commit again from the git repository that holds DIR (default .) in the same sandbox, and
compares the sha256 of every subject with the recorded one.

The repository is not changed: the commit is checked out into a shared clone in the
work directory. DIR must be a clone that has the commit (git fetch it first). The
recorded definition is used, not the one in the work tree; relative oci-archive image
paths are resolved against DIR's repository, as they were at build time.

Prints one line per subject: RECORDED and REBUILT digests and whether they match.
--builder-id and --source-uri, when given, are checked as slsabox verify does. Keyless
bundles are verified by identity with verify's --certificate-* flags; without
--trusted-root, Sigstore's public-good root is trusted, refreshed through TUF as
slsabox verify --help says (--offline, --tuf-mirror, --tuf-root).

--vsa-out FILE --vsa-key KEY --vsa-resource-uri URI also write a signed Verification
Summary Attestation: PASSED with SLSA_BUILD_LEVEL_N and SLSABOX_BUILD_REPRODUCED when
every subject was reproduced, FAILED when the rebuild ran and something differs, the
bundle did not verify or the build failed (exit 1); on exit 2 or 3 FILE is untouched.

Exit codes: 0 every subject reproduced; 1 a subject differs (or is missing), or the
bundle did not verify; 2 bad input (flags, bundle, a dirty recorded build); 3 environment.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			return runRebuild(cmd, g, o, dir)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.bundle, "bundle", "", "the Sigstore bundle holding the provenance (provenance.sigstore.json)")
	o.trust.register(f)
	f.StringVar(&o.builderID, "builder-id", "", "check the provenance names this builder id")
	f.StringVar(&o.sourceURI, "source-uri", "", "check the provenance names this source repository")
	o.identity.register(f)
	f.StringVarP(&o.out, "out", "o", "", "keep the rebuilt artifacts here (default: a temporary directory, removed)")
	f.StringVar(&o.workDir, "work-dir", "", "where the checkout, source copy and step outputs live (default $TMPDIR)")
	o.runtime.register(f)
	f.BoolVar(&o.userns, "require-userns", false, "refuse to rebuild (exit 3) where steps cannot run in a user namespace, instead of warning")
	o.inputs.register(f)
	o.vsa.register(f)
	return cmd
}

// subjectResult compares one artifact.
type subjectResult struct {
	Name     string `json:"name"`
	Recorded string `json:"recorded,omitempty"` // sha256 hex; empty when only the rebuild made it
	Rebuilt  string `json:"rebuilt,omitempty"`  // empty when the rebuild did not make it
	Match    bool   `json:"match"`
}

// rebuildOutcome is everything a rebuild established. Reproduced is true only when
// the bundle verified and every recorded subject was rebuilt with the same digest and
// nothing else: it is what a verification summary (VSA) of the rebuild would attest.
type rebuildOutcome struct {
	Reproduced bool            `json:"reproduced"`
	Commit     string          `json:"commit"`
	Image      string          `json:"image"`
	Subjects   []subjectResult `json:"subjects"`
	Inputs     int             `json:"inputs"`
	Warnings   []string        `json:"warnings,omitempty"`
	// Differences besides the subjects: the image or the inputs the rebuild used.
	Differences []string              `json:"differences,omitempty"`
	Report      *verify.Report        `json:"verification"`
	Recorded    *attest.RecordedBuild `json:"-"`
	Result      *builder.Result       `json:"-"`
}

func runRebuild(cmd *cobra.Command, g *globalOptions, o *rebuildOptions, dir string) error {
	ctx := cmd.Context()
	switch {
	case o.bundle == "":
		return usageError{errors.New("rebuild needs --bundle")}
	}
	if err := o.trust.check("rebuild", o.identity.set(), "the bundle is verified before anything is rebuilt; ask the publisher for the public key or the workflow identity"); err != nil {
		return err
	}
	if err := o.vsa.check(); err != nil {
		return err
	}
	var vsaw *vsaWriter
	if o.vsa.out != "" {
		policy := verify.Policy{BuilderID: o.builderID, AllowAnyBuilderUnsafe: o.builderID == "",
			SourceURI: o.sourceURI, AllowAnySourceUnsafe: o.sourceURI == ""}
		if err := o.identity.fill(&policy, ""); err != nil {
			return err
		}
		var err error
		if vsaw, err = newVSAWriter(ctx, o.vsa, "", policy, true); err != nil {
			return err
		}
	}
	// The bundle is read once: what is verified is what the VSA names by digest.
	data, err := os.ReadFile(o.bundle)
	if err != nil {
		return usageError{err}
	}
	outcome, err := rebuild(ctx, cmd, g, o, dir, data)
	if vsaw != nil && (err == nil || exitCode(err) == exitFailed) {
		if werr := writeRebuildVSA(ctx, vsaw, o.bundle, data, outcome); werr != nil {
			return werr
		}
		g.logf(cmd.ErrOrStderr(), "wrote %s VSA %s", vsaw.result, o.vsa.out)
	}
	if err != nil {
		return err
	}
	for _, w := range outcome.Warnings {
		g.logf(cmd.ErrOrStderr(), "warning: %s", w)
	}
	if err := printRebuild(cmd, g, outcome); err != nil {
		return err
	}
	if !outcome.Reproduced {
		var differ []string
		for _, s := range outcome.Subjects {
			if !s.Match {
				differ = append(differ, s.Name)
			}
		}
		if len(differ) == 0 {
			return hint.Wrap(fmt.Errorf("%w: the subjects match but %s", errNotReproduced, strings.Join(outcome.Differences, "; ")),
				"the rebuild did not run with the recorded image and inputs")
		}
		return hint.Wrap(fmt.Errorf("%w: %d of %d subjects differ: %s", errNotReproduced, len(differ), len(outcome.Subjects), strings.Join(differ, ", ")),
			"the build is not reproducible: look for timestamps, random values or paths in the differing artifacts (rebuild with -o DIR keeps them to compare)")
	}
	return nil
}

// rebuild verifies the bundle, runs the recorded build again and compares.
func rebuild(ctx context.Context, cmd *cobra.Command, g *globalOptions, o *rebuildOptions, dir string, data []byte) (*rebuildOutcome, error) {
	stderr := cmd.ErrOrStderr()
	b, err := attest.ParseBundle(data)
	if err != nil {
		return nil, usageError{fmt.Errorf("%s: %w", o.bundle, err)}
	}
	// The statement is read before verification only to name a subject for the policy;
	// everything used below comes from the verified report.
	env := b.GetDsseEnvelope()
	if env == nil {
		return nil, usageError{fmt.Errorf("%s holds no DSSE envelope", o.bundle)}
	}
	unverified, err := attest.ParseStatement(env.GetPayload())
	if err != nil || len(unverified.GetSubject()) == 0 {
		return nil, usageError{fmt.Errorf("%s: the envelope holds no statement with subjects", o.bundle)}
	}
	vopts, err := o.trust.options(ctx, g, stderr, o.identity.set())
	if err != nil {
		return nil, err
	}
	v, err := verify.New(vopts...)
	if err != nil {
		return nil, err
	}
	policy := verify.Policy{
		Digest:    unverified.GetSubject()[0].GetDigest()["sha256"],
		BuilderID: o.builderID, AllowAnyBuilderUnsafe: o.builderID == "",
		SourceURI: o.sourceURI, AllowAnySourceUnsafe: o.sourceURI == "",
	}
	if err := o.identity.fill(&policy, ""); err != nil {
		return nil, err
	}
	report, err := v.Verify(b, policy)
	if f := report.Failed(); err != nil && len(f) == 1 && f[0].Name == verify.CheckCleanSource {
		// Signed and logged as required, but of uncommitted changes: nothing to check out.
		return nil, hint.Wrap(usageError{fmt.Errorf("the recorded build was of uncommitted changes (--allow-dirty): there is no commit to rebuild")},
			"only builds of committed trees can be rebuilt")
	}
	if err != nil {
		return nil, hint.Wrap(fmt.Errorf("verifying %s: %w", o.bundle, err), "nothing was rebuilt: the bundle does not verify (slsabox verify prints every check)")
	}
	rec, err := attest.ReadProvenance(report.Statement)
	if err != nil {
		return nil, usageError{err}
	}
	out := &rebuildOutcome{Report: report, Recorded: rec, Commit: rec.Commit, Image: rec.Image, Warnings: report.Warnings}
	if v := version.String(); rec.SlsaboxVersion != "" && rec.SlsaboxVersion != v {
		out.Warnings = append(out.Warnings, fmt.Sprintf("the build ran slsabox %s, this is %s: a difference may come from the builder itself", rec.SlsaboxVersion, v))
	}
	if rec.Dirty {
		return nil, hint.Wrap(usageError{fmt.Errorf("the recorded build was of uncommitted changes (--allow-dirty) on top of %s: there is no commit to rebuild", rec.Commit)},
			"only builds of committed trees can be rebuilt")
	}
	sum := sha256.Sum256([]byte(rec.DefinitionContent))
	if hex.EncodeToString(sum[:]) != rec.DefinitionSHA256 {
		return nil, usageError{fmt.Errorf("the recorded build definition does not match its recorded sha256 %s", rec.DefinitionSHA256)}
	}

	work, err := os.MkdirTemp(o.workDir, "slsabox-rebuild-")
	if err != nil {
		return nil, envError{fmt.Errorf("creating a work directory: %w", err)}
	}
	defer os.RemoveAll(work)
	g.logf(stderr, "verified %s; checking out %s", o.bundle, short(rec.Commit))
	checkout := filepath.Join(work, "checkout")
	repoRoot, err := builder.CheckoutCommit(ctx, dir, rec.Commit, checkout)
	if err != nil {
		return nil, err
	}
	defFile := filepath.FromSlash(rec.DefinitionPath)
	if !filepath.IsAbs(defFile) && !strings.HasPrefix(filepath.Clean(defFile), "..") {
		// As at build time, relative oci-archive paths are relative to the definition's
		// directory in the user's repository (image archives are rarely committed).
		defFile = filepath.Join(repoRoot, defFile)
	}
	def, err := builder.ParseDefinition(defFile, []byte(rec.DefinitionContent))
	if err != nil {
		return nil, fmt.Errorf("the recorded build definition: %w", err)
	}

	outDir := o.out
	if outDir == "" {
		outDir = filepath.Join(work, "out")
	}
	bopts := []builder.Option{}
	if o.workDir != "" {
		bopts = append(bopts, builder.WithWorkDir(o.workDir))
	}
	if o.userns {
		bopts = append(bopts, builder.WithUserNamespace(builder.UsernsRequire))
	}
	// The recorded runtime: a build run under gVisor, by its definition or by the
	// caller's choice, runs under gVisor again, never under runc.
	if rec.Runtime == builder.RuntimeGVisor {
		if o.runtime.name == builder.RuntimeRunc {
			return nil, hint.Wrap(usageError{fmt.Errorf("the recorded build ran under gVisor (sandbox.runtime gvisor), and the runtime asked for is runc")},
				"rebuild it under gVisor: leave --runtime and SLSABOX_RUNTIME unset, or name gvisor")
		}
		bopts = append(bopts, builder.WithRuntime(builder.RuntimeGVisor))
	}
	bopts = append(bopts, o.runtime.options()...)
	bld, err := g.newBuilder(ctx, stderr, append(bopts, o.inputs.options()...)...)
	if err != nil {
		return nil, err
	}
	defer bld.Close()
	res, err := bld.Build(ctx, builder.Request{
		SourceDir:      filepath.Join(checkout, filepath.FromSlash(rec.SourcePath)),
		DefinitionFile: defFile,
		Definition:     def,
		OutDir:         outDir,
	})
	if err != nil {
		return nil, err
	}
	out.Result = res
	out.Inputs = len(res.Inputs)
	if res.Source.Commit != rec.Commit {
		return nil, fmt.Errorf("%w: the checkout built %s, not the recorded %s", builder.ErrInvalidSource, res.Source.Commit, rec.Commit)
	}
	rebuilt := describeBuild(res, "", "")
	out.Subjects, out.Reproduced = compareSubjects(rec.Subjects, rebuilt.Subjects)
	if res.Image.Digest != rec.ImageDigest {
		out.Reproduced = false
		out.Differences = append(out.Differences, fmt.Sprintf("the builder image resolved to %s, the provenance records %s", res.Image.Digest, rec.ImageDigest))
	}
	if d := diffInputs(rec.Inputs, rebuilt.Inputs); d != "" {
		out.Reproduced = false
		out.Differences = append(out.Differences, "the inputs differ from the recorded ones: "+d)
	}
	return out, nil
}

// reproducedLevel is the VSA level slsabox rebuild adds when every subject was
// reproduced. The VSA spec keeps the SLSA_ prefix for SLSA's own tracks (and
// slsa-verifier rejects a VSA holding another SLSA_ value), so it is slsabox's own.
const reproducedLevel = "SLSABOX_BUILD_REPRODUCED"

// writeRebuildVSA writes the VSA of a rebuild: PASSED with the verified build level
// and reproducedLevel when outcome says every subject was reproduced; FAILED, over
// the subjects the bundle names, otherwise (outcome is nil when the rebuild stopped
// before comparing). data is the bundle as it was read and verified, never read again.
func writeRebuildVSA(ctx context.Context, w *vsaWriter, bundlePath string, data []byte, outcome *rebuildOutcome) error {
	var subjects []*intoto.ResourceDescriptor
	if outcome != nil && outcome.Recorded != nil {
		for _, s := range outcome.Recorded.Subjects {
			subjects = append(subjects, &intoto.ResourceDescriptor{Name: s.Name, Digest: map[string]string{"sha256": s.SHA256}})
		}
	} else if b, err := attest.ParseBundle(data); err == nil {
		// Unverified: only named in a FAILED summary.
		if st, err := attest.ParseStatement(b.GetDsseEnvelope().GetPayload()); err == nil {
			subjects = st.GetSubject()
		}
	}
	if len(subjects) == 0 {
		return fmt.Errorf("%s names no subject: no VSA written", bundlePath)
	}
	var levels []string
	if outcome != nil && outcome.Reproduced && outcome.Report != nil {
		levels = []string{fmt.Sprintf("SLSA_BUILD_LEVEL_%d", max(1, outcome.Report.BuildLevel)), reproducedLevel}
		w.summary.OptOuts = outcome.Report.OptOuts
	}
	return w.write(ctx, bundlePath, data, subjects, levels)
}

// compareSubjects pairs recorded and rebuilt subjects by name. A subject on one side
// only is a difference too.
func compareSubjects(recorded, rebuilt []attest.Subject) ([]subjectResult, bool) {
	got := map[string]string{}
	for _, s := range rebuilt {
		got[s.Name] = s.SHA256
	}
	all := true
	var out []subjectResult
	seen := map[string]bool{}
	for _, s := range recorded {
		r := subjectResult{Name: s.Name, Recorded: s.SHA256, Rebuilt: got[s.Name]}
		r.Match = r.Rebuilt != "" && r.Rebuilt == r.Recorded
		all = all && r.Match
		seen[s.Name] = true
		out = append(out, r)
	}
	for _, s := range rebuilt {
		if !seen[s.Name] {
			out = append(out, subjectResult{Name: s.Name, Rebuilt: s.SHA256})
			all = false
		}
	}
	return out, all && len(recorded) > 0
}

// diffInputs names the inputs whose URI and digest are not the same in both lists.
func diffInputs(recorded, rebuilt []attest.Input) string {
	key := func(in attest.Input) string {
		d, _ := json.Marshal(in.Digest)
		return in.URI + " " + string(d)
	}
	have := map[string]bool{}
	for _, in := range rebuilt {
		have[key(in)] = true
	}
	var diff []string
	for _, in := range recorded {
		if !have[key(in)] {
			diff = append(diff, "recorded "+in.URI+" not used")
		}
		delete(have, key(in))
	}
	for k := range have {
		diff = append(diff, "rebuild used "+strings.SplitN(k, " ", 2)[0])
	}
	return strings.Join(diff, "; ")
}

func printRebuild(cmd *cobra.Command, g *globalOptions, o *rebuildOutcome) error {
	w := cmd.OutOrStdout()
	if g.output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(o)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SUBJECT\tRECORDED\tREBUILT\tRESULT")
	differ := 0
	for _, s := range o.Subjects {
		res := "reproduced"
		switch {
		case s.Recorded == "":
			res = "EXTRA (not in the provenance)"
		case s.Rebuilt == "":
			res = "MISSING (not rebuilt)"
		case !s.Match:
			res = "DIFFERS"
		}
		if !s.Match {
			differ++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", termSafe(s.Name), termSafe(shortDigest(s.Recorded)), termSafe(shortDigest(s.Rebuilt)), res)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, d := range o.Differences {
		fmt.Fprintf(w, "DIFFERS: %s\n", termSafe(d))
	}
	if o.Reproduced {
		fmt.Fprintf(w, "reproduced: all %d subjects of commit %s match the provenance (image %s, %d inputs)\n", len(o.Subjects), termSafe(short(o.Commit)), termSafe(o.Image), o.Inputs)
	} else {
		fmt.Fprintf(w, "NOT reproduced: %d of %d subjects differ, %d other differences (commit %s)\n", differ, len(o.Subjects), len(o.Differences), termSafe(short(o.Commit)))
	}
	return nil
}

func shortDigest(hexDigest string) string {
	if hexDigest == "" {
		return "-"
	}
	if len(hexDigest) > 16 {
		return "sha256:" + hexDigest[:16] + "…"
	}
	return "sha256:" + hexDigest
}
