package main

import (
	"encoding/json"
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/slsabox/slsabox/internal/version"
)

func newVersionCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the slsabox version, and whether this is the full or the verify-only build",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := struct {
				Version string `json:"version"`
				Go      string `json:"go"`
				SHA256  string `json:"sha256"`
				Build   string `json:"build"` // full, or verify-only (-tags slsabox_verifyonly)
			}{version.String(), runtime.Version(), version.BinaryDigest(), buildKind}
			if g.output == "json" {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(v)
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "slsabox %s (%s, %s build)\n", v.Version, v.Go, v.Build)
			return err
		},
	}
}
