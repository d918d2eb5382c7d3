//go:build !slsabox_verifyonly

package main

import (
	"encoding/json"
	"fmt"

	"github.com/slsabox/slsabox/builder"
	"github.com/spf13/cobra"
)

func newSweepCmd(g *globalOptions) *cobra.Command {
	var (
		all     bool
		workDir string
	)
	cmd := &cobra.Command{
		Use:   "sweep",
		Short: "Remove containers, snapshots, leases and work directories left by crashed builds",
		Long: `sweep removes what builds that crashed (or were killed with SIGKILL) left behind:
in containerd, the containers and their tasks, snapshots and leases labelled by
slsabox whose owning process is gone (every build also does this when it starts);
on disk, those builds' work directories under --work-dir (default $TMPDIR), when
this user owns them. --all removes the containerd objects of running builds too,
which stops them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var opts []builder.Option
			if workDir != "" {
				opts = append(opts, builder.WithWorkDir(workDir))
			}
			b, err := g.newBuilder(cmd.Context(), cmd.ErrOrStderr(), opts...)
			if err != nil {
				return err
			}
			defer b.Close()
			rep, err := b.Sweep(cmd.Context(), all)
			if err != nil {
				return err
			}
			if g.output == "json" {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(rep)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "removed %d containers, %d snapshots, %d leases, %d work directories\n",
				rep.Containers, rep.Snapshots, rep.Leases, rep.WorkDirs)
			return err
		},
	}
	cmd.Flags().StringVar(&workDir, "work-dir", "", "where the builds kept their work directories (slsabox build --work-dir; default $TMPDIR)")
	cmd.Flags().BoolVar(&all, "all", false, "also remove the objects of builds that are still running (stops them)")
	return cmd
}
