package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/slsabox/slsabox/attest"
	"github.com/slsabox/slsabox/builder"
	"github.com/slsabox/slsabox/internal/version"
)

type buildOptions struct {
	file         string
	out          string
	allowDirty   bool
	workDir      string
	key          string
	unsigned     bool
	noTlog       bool
	rekorURL     string
	builderID    string
	invocationID string
	sourceURI    string
	sourceRef    string
}

// defaultBuilderID names a build run by the CLI outside any CI that identifies itself.
const defaultBuilderID = "https://slsabox.dev/builders/cli/v1"

func newBuildCmd(g *globalOptions) *cobra.Command {
	o := &buildOptions{}
	cmd := &cobra.Command{
		Use:   "build [DIR]",
		Short: "Run the build of the git work tree DIR in a hermetic sandbox and sign its provenance",
		Long: `build exports the committed tree of DIR (default .), reads DIR/slsabox.yaml, and runs
each step in its own containerd container: read-only image pinned by digest, the source
copy at /src, outputs at /out, no network, no capabilities, a non-root user, memory,
process and time limits, and an environment made only of the image's, the step's,
HOME=/tmp and SOURCE_DATE_EPOCH (the commit time).

Every regular file under /out that matches outputs: becomes a subject with its sha256.
The SLSA v1 provenance of the build is signed with --key (a PEM file or KMS URI) as a
DSSE envelope and written as a Sigstore bundle, OUT/provenance.sigstore.json.
On success OUT (default ./slsabox-out) is replaced as a whole by the artifacts,
build.log and the bundle; on failure it is left untouched and the log is kept in
OUT.failed.log.

Exit codes: 0 built; 1 a step or the outputs failed; 2 bad input (definition, dirty
tree, key, flags); 3 environment (containerd, disk, log) or interrupted.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			return runBuild(cmd, g, o, dir)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.file, "file", "f", "", "build definition (default DIR/slsabox.yaml)")
	f.StringVarP(&o.out, "out", "o", "slsabox-out", "output directory, replaced as a whole on success")
	f.BoolVar(&o.allowDirty, "allow-dirty", false, "build uncommitted changes (recorded as dirty)")
	f.StringVar(&o.workDir, "work-dir", "", "where the source copy and step outputs live during the build (default $TMPDIR)")
	f.StringVar(&o.key, "key", os.Getenv("SLSABOX_KEY"), "signing key: PEM file or KMS URI (env SLSABOX_KEY; passphrase in $"+attest.PassphraseEnv+")")
	f.BoolVar(&o.unsigned, "unsigned", false, "write no provenance at all (unsafe: consumers can verify nothing)")
	f.BoolVar(&o.noTlog, "no-tlog", false, "do not log the signed provenance to a transparency log (the bundle says so)")
	f.StringVar(&o.rekorURL, "rekor-url", os.Getenv("SLSABOX_REKOR_URL"), "transparency log (Rekor) URL (env SLSABOX_REKOR_URL)")
	f.StringVar(&o.builderID, "builder-id", envOr("SLSABOX_BUILDER_ID", ""), "builder.id recorded in the provenance (default: the CI's workflow identity, else "+defaultBuilderID+")")
	f.StringVar(&o.invocationID, "invocation-id", "", "invocation id recorded in the provenance (default: the CI run URL, else a build id)")
	f.StringVar(&o.sourceURI, "source-uri", "", "canonical source URI for the provenance (default: from git's remote.origin.url)")
	f.StringVar(&o.sourceRef, "source-ref", "", "source ref for the provenance (default: the checked-out branch)")
	return cmd
}

func runBuild(cmd *cobra.Command, g *globalOptions, o *buildOptions, dir string) error {
	ctx := cmd.Context()
	stderr := cmd.ErrOrStderr()
	var signer attest.Signer
	switch {
	case o.unsigned && (o.key != "" || o.noTlog || o.rekorURL != ""):
		return usageError{fmt.Errorf("--unsigned conflicts with --key, --no-tlog and --rekor-url")}
	case o.unsigned:
		g.logf(stderr, "warning: --unsigned: this build writes no provenance, so nobody can verify it")
	case o.key == "":
		return withHint(usageError{fmt.Errorf("no signing key")},
			"pass --key FILE (slsabox keygen makes one) or a KMS URI; --unsigned builds without provenance")
	case !o.noTlog && o.rekorURL == "":
		return withHint(usageError{fmt.Errorf("no transparency log: pass --rekor-url URL, or --no-tlog to sign without logging")},
			"scripts/rekor.sh start runs a local Rekor; --no-tlog is recorded in the bundle (it has no log entry)")
	case !o.noTlog:
		return withHint(usageError{fmt.Errorf("logging to Rekor is not available in this version of slsabox")}, "pass --no-tlog")
	default:
		var err error
		if signer, err = attest.LoadSigner(ctx, o.key); err != nil {
			return err
		}
		g.logf(stderr, "warning: --no-tlog: the provenance is signed but not logged to a transparency log")
	}

	file := o.file
	if file == "" {
		file = filepath.Join(dir, "slsabox.yaml")
	}
	// A bad definition is the user's to fix, whether or not containerd is up.
	if _, err := builder.LoadDefinition(file); err != nil {
		return err
	}
	opts := []builder.Option{}
	if o.workDir != "" {
		opts = append(opts, builder.WithWorkDir(o.workDir))
	}
	b, err := g.newBuilder(ctx, stderr, opts...)
	if err != nil {
		return err
	}
	defer b.Close()
	req := builder.Request{SourceDir: dir, DefinitionFile: file, OutDir: o.out, AllowDirtyTree: o.allowDirty}
	if signer != nil {
		req.Finish = func(ctx context.Context, stage string, res *builder.Result) error {
			return writeProvenance(ctx, g, o, stage, res, signer, stderr)
		}
	}
	res, err := b.Build(ctx, req)
	if err != nil {
		if g.output == "json" && res != nil {
			_ = json.NewEncoder(cmd.OutOrStdout()).Encode(res)
		}
		return err
	}
	return printResult(cmd, g, res, signer != nil)
}

func writeProvenance(ctx context.Context, g *globalOptions, o *buildOptions, stage string, res *builder.Result, signer attest.Signer, stderr interface{ Write([]byte) (int, error) }) error {
	id := ciIdentity()
	popts := attest.ProvenanceOptions{
		BuilderID:      firstOf(o.builderID, id.builderID, defaultBuilderID),
		InvocationID:   firstOf(o.invocationID, id.invocationID, "urn:slsabox:build:"+res.BuildID),
		SourceURI:      firstOf(o.sourceURI, id.sourceURI),
		SourceRef:      firstOf(o.sourceRef, id.sourceRef),
		SlsaboxVersion: version.String(),
		SlsaboxDigest:  version.BinaryDigest(),
	}
	st, err := attest.Provenance(res, popts)
	if err != nil {
		return err
	}
	bundle, err := attest.Sign(ctx, st, signer, attest.SignOptions{})
	if err != nil {
		return err
	}
	if err := attest.WriteBundle(filepath.Join(stage, attest.BundleFile), bundle); err != nil {
		return envError{err}
	}
	g.logf(stderr, "signed provenance for %d subjects as builder %s", len(res.Subjects), popts.BuilderID)
	return nil
}

// ciIdentity reads what a CI says about the run from its standard variables.
type identity struct{ builderID, invocationID, sourceURI, sourceRef string }

func ciIdentity() identity {
	var id identity
	if os.Getenv("GITHUB_ACTIONS") == "true" {
		server := envOr("GITHUB_SERVER_URL", "https://github.com")
		repo := os.Getenv("GITHUB_REPOSITORY")
		if wf := os.Getenv("GITHUB_WORKFLOW_REF"); wf != "" {
			id.builderID = server + "/" + wf
		}
		if run := os.Getenv("GITHUB_RUN_ID"); run != "" && repo != "" {
			id.invocationID = fmt.Sprintf("%s/%s/actions/runs/%s/attempts/%s", server, repo, run, envOr("GITHUB_RUN_ATTEMPT", "1"))
		}
		if repo != "" {
			id.sourceURI = "git+" + server + "/" + repo
		}
		id.sourceRef = os.Getenv("GITHUB_REF")
	}
	return id
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func printResult(cmd *cobra.Command, g *globalOptions, res *builder.Result, signed bool) error {
	w := cmd.OutOrStdout()
	if g.output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	fmt.Fprintf(w, "built %s at %s", res.Source.RepoRoot, short(res.Source.Commit))
	if res.Source.Dirty {
		fmt.Fprint(w, " (dirty)")
	}
	fmt.Fprintf(w, " in %s with %s\n", res.FinishedOn.Sub(res.StartedOn).Round(1e6), res.Image.ManifestDigest)
	for _, s := range res.Subjects {
		fmt.Fprintf(w, "sha256:%s  %s\n", s.SHA256, filepath.Join(res.OutDir, s.Name))
	}
	if signed {
		fmt.Fprintf(w, "provenance: %s\n", filepath.Join(res.OutDir, attest.BundleFile))
	}
	return nil
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}
