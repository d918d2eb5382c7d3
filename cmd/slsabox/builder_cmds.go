//go:build !slsabox_verifyonly

package main

import (
	"context"
	"errors"
	"io"

	"github.com/containerd/log"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/slsabox/slsabox/builder"
)

// This file is the builder's part of the command: the subcommands that run builds in
// containerd, the global flags only they read, and the exit codes and hints of the
// builder's errors. The verify-only build (-tags slsabox_verifyonly, verifyonly.go)
// has none of it, and links neither the builder nor containerd's client.

// buildKind is what slsabox version reports.
const buildKind = "full"

const (
	rootShort = "Hermetic builds with signed SLSA provenance"
	rootLong  = `slsabox runs a project's build inside an isolated containerd sandbox (no network,
read-only image, non-root, no capabilities, resource limits) from the committed git
tree, and records exactly what went in and what came out.`
)

// defaultContainerd is the socket of the private daemon scripts/containerd.sh starts.
const defaultContainerd = "/run/slsabox/containerd/containerd.sock"

// quietContainerdLog silences containerd's client, which logs through logrus at info
// level: slsabox reports for itself.
func quietContainerdLog() { log.L.Logger.SetLevel(log.ErrorLevel) }

// addBuilderFlags registers the global flags of the commands that talk to containerd.
// They are global, rather than flags of those commands, for compatibility.
func addBuilderFlags(pf *pflag.FlagSet, g *globalOptions) {
	pf.StringVar(&g.containerd, "containerd-address", envOr("SLSABOX_CONTAINERD", defaultContainerd), "containerd socket (absolute path; env SLSABOX_CONTAINERD)")
	pf.StringVar(&g.namespace, "namespace", envOr("SLSABOX_NAMESPACE", builder.DefaultNamespace), "containerd namespace (env SLSABOX_NAMESPACE)")
}

// addBuilderCmds adds the commands that need the builder.
func addBuilderCmds(root *cobra.Command, g *globalOptions) {
	root.AddCommand(newBuildCmd(g), newImageCmd(g), newSweepCmd(g), newRebuildCmd(g))
}

// builderExitCode is the exit code of the builder's error families; ok is false for
// an error of none of them. exitCode asks it after every other family.
func builderExitCode(err error) (code int, ok bool) {
	switch {
	case errors.Is(err, builder.ErrInvalidRequest):
		return exitUsage, true
	case errors.Is(err, builder.ErrEnvironment), errors.Is(err, builder.ErrInterrupted):
		return exitEnvironment, true
	}
	return 0, false
}

// builderHint is the hint for a builder's error that carries none of its own.
func builderHint(err error) string {
	if errors.Is(err, builder.ErrInterrupted) {
		return "the build was cancelled and its containers removed; run it again"
	}
	return ""
}

func (g *globalOptions) newBuilder(ctx context.Context, stderr io.Writer, opts ...builder.Option) (*builder.Builder, error) {
	base := []builder.Option{builder.WithNamespace(g.namespace), builder.WithProgress(progressWriter{stderr, g.quiet})}
	if !g.quiet {
		base = append(base, builder.WithStepOutput(stderr))
	}
	return builder.New(ctx, g.containerd, append(base, opts...)...)
}
