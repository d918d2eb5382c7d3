package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
)

func newSweepCmd(g *globalOptions) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "sweep",
		Short: "Remove containers, snapshots and leases left by crashed builds",
		Long: `sweep removes what builds that crashed (or were killed with SIGKILL) left in containerd:
containers and their tasks, snapshots and leases labelled by slsabox whose owning
process is gone. Every build also does this when it starts. --all removes the objects
of running builds too, which stops them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := g.newBuilder(cmd.Context(), cmd.ErrOrStderr())
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
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "removed %d containers, %d snapshots, %d leases\n", rep.Containers, rep.Snapshots, rep.Leases)
			return err
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "also remove the objects of builds that are still running (stops them)")
	return cmd
}
