package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/slsabox/slsabox/builder"
)

type buildOptions struct {
	file       string
	out        string
	allowDirty bool
	workDir    string
}

func newBuildCmd(g *globalOptions) *cobra.Command {
	o := &buildOptions{}
	cmd := &cobra.Command{
		Use:   "build [DIR]",
		Short: "Run the build of the git work tree DIR in a hermetic sandbox",
		Long: `build exports the committed tree of DIR (default .), reads DIR/slsabox.yaml, and runs
each step in its own containerd container: read-only image pinned by digest, the source
copy at /src, outputs at /out, no network, no capabilities, a non-root user, memory,
process and time limits, and an environment made only of the image's, the step's,
HOME=/tmp and SOURCE_DATE_EPOCH (the commit time).

Every regular file under /out that matches outputs: becomes a subject with its sha256.
On success OUT (default ./slsabox-out) is replaced as a whole by the artifacts and
build.log; on failure it is left untouched and the log is kept in OUT.failed.log.

Exit codes: 0 built; 1 a step or the outputs failed; 2 bad input (definition, dirty
tree, flags); 3 environment (containerd, disk) or interrupted.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			opts := []builder.Option{}
			if o.workDir != "" {
				opts = append(opts, builder.WithWorkDir(o.workDir))
			}
			b, err := g.newBuilder(cmd.Context(), cmd.ErrOrStderr(), opts...)
			if err != nil {
				return err
			}
			defer b.Close()
			file := o.file
			if file == "" {
				file = filepath.Join(dir, "slsabox.yaml")
			}
			res, err := b.Build(cmd.Context(), builder.Request{SourceDir: dir, DefinitionFile: file, OutDir: o.out, AllowDirtyTree: o.allowDirty})
			if err != nil {
				if g.output == "json" && res != nil {
					_ = json.NewEncoder(cmd.OutOrStdout()).Encode(res)
				}
				return err
			}
			return printResult(cmd, g, res)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.file, "file", "f", "", "build definition (default DIR/slsabox.yaml)")
	f.StringVarP(&o.out, "out", "o", "slsabox-out", "output directory, replaced as a whole on success")
	f.BoolVar(&o.allowDirty, "allow-dirty", false, "build uncommitted changes (recorded as dirty)")
	f.StringVar(&o.workDir, "work-dir", "", "where the source copy and step outputs live during the build (default $TMPDIR)")
	return cmd
}

func printResult(cmd *cobra.Command, g *globalOptions, res *builder.Result) error {
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
	return nil
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}
