//go:build slsabox_verifyonly

package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/slsabox/slsabox/internal/hint"
)

// This file makes the verify-only build of slsabox (go build -tags slsabox_verifyonly):
// the consumer's verifier, which links neither the builder nor containerd's client,
// and so starts without their package initialization (docs/performance.md). What the
// full build has in builder_cmds.go is here either nothing or a command that says
// this build cannot do it.

// buildKind is what slsabox version reports.
const buildKind = "verify-only"

const (
	rootShort = "Verify artifacts against their signed SLSA provenance (the verify-only build of slsabox)"
	rootLong  = `slsabox verify checks artifacts against their signed SLSA provenance, offline.
This is the verify-only build of slsabox (built with -tags slsabox_verifyonly): it
links no builder, and starts faster for it. Building needs the full slsabox.`
)

// builderCmds are the commands of the full build that need the builder.
var builderCmds = []string{"build", "rebuild", "image", "sweep"}

func quietContainerdLog() {}

// addBuilderFlags registers nothing: --containerd-address and --namespace are the
// builder's.
func addBuilderFlags(*pflag.FlagSet, *globalOptions) {}

// addBuilderCmds adds, for each command of the full build that needs the builder, a
// hidden one that refuses to run, as a usage error, rather than an unknown command.
func addBuilderCmds(root *cobra.Command, _ *globalOptions) {
	for _, name := range builderCmds {
		root.AddCommand(&cobra.Command{
			Use:   name,
			Short: "Not in the verify-only build of slsabox",
			Long: name + ` is not in the verify-only build of slsabox (built with -tags slsabox_verifyonly),
which links no builder. Install the full slsabox to run it.`,
			Hidden:             true,
			DisableFlagParsing: true, // whatever follows, the answer is the same
			Args:               cobra.ArbitraryArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return hint.Wrap(usageError{fmt.Errorf("%s: this is the verify-only build of slsabox (built with -tags slsabox_verifyonly), which cannot build", cmd.CommandPath())},
					"install the full slsabox (go install github.com/slsabox/slsabox/cmd/slsabox@VERSION, without -tags, or bin/slsabox from make build)")
			},
		})
	}
}

func builderExitCode(error) (int, bool) { return 0, false }

func builderHint(error) string { return "" }
