package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slsabox/slsabox/attest"
	"github.com/slsabox/slsabox/attest/verify"
	"github.com/slsabox/slsabox/builder"
	"github.com/slsabox/slsabox/internal/lazygc"
)

// Exit codes (DESIGN.md section 3): scripts tell "the artifact is bad" from "try again".
const (
	exitOK          = 0
	exitFailed      = 1 // the build failed or verification failed
	exitUsage       = 2 // bad flags or invalid input
	exitEnvironment = 3 // containerd, the log, the network or the disk
)

// defaultContainerd is the socket of the private daemon scripts/containerd.sh starts.
const defaultContainerd = "/run/slsabox/containerd/containerd.sock"

type globalOptions struct {
	containerd string
	namespace  string
	output     string
	quiet      bool
}

// usageError marks errors in how slsabox was called (exit 2).
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

// envError marks failures of the machine: disk, network, services (exit 3).
type envError struct{ error }

func (e envError) Unwrap() error { return e.error }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	g := &globalOptions{}
	stderr = termWriter{stderr} // progress, step logs and errors: no escape sequences
	root := &cobra.Command{
		Use:   "slsabox",
		Short: "Hermetic builds with signed SLSA provenance",
		Long: `slsabox runs a project's build inside an isolated containerd sandbox (no network,
read-only image, non-root, no capabilities, resource limits) from the committed git
tree, and records exactly what went in and what came out.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&g.containerd, "containerd-address", envOr("SLSABOX_CONTAINERD", defaultContainerd), "containerd socket (absolute path; env SLSABOX_CONTAINERD)")
	pf.StringVar(&g.namespace, "namespace", envOr("SLSABOX_NAMESPACE", builder.DefaultNamespace), "containerd namespace (env SLSABOX_NAMESPACE)")
	pf.StringVar(&g.output, "output", "text", "result format on stdout: text or json")
	pf.BoolVarP(&g.quiet, "quiet", "q", false, "print only errors on stderr")

	root.AddCommand(newBuildCmd(g), newUploadCmd(g), newKeygenCmd(g), newImageCmd(g), newSweepCmd(g), newVersionCmd(g), newVerifyCmd(g))
	root.AddCommand(newRebuildCmd(g))
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		// Verification is short and small: it runs without a collection unless its
		// heap reaches 256 MiB. So does a build, whose work runs in containerd: its
		// own heap stays at a few MB, and the two collections of a short build cost
		// it a stop of the world each, which under load waited up to 250 ms for a
		// descheduled thread. Everything else collects as usual.
		if p := cmd.CommandPath(); p == "slsabox verify" || p == "slsabox build" {
			lazygc.Bounded(256 << 20)
		} else {
			lazygc.Restore()
		}
		if g.output != "text" && g.output != "json" {
			return usageError{fmt.Errorf("--output must be text or json, not %q", g.output)}
		}
		return nil
	}
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	code := exitCode(err)
	fmt.Fprintf(stderr, "slsabox: error: %s\n", termSafe(err.Error()))
	if hint := hintFor(err); hint != "" {
		fmt.Fprintf(stderr, "slsabox: hint: %s\n", termSafe(hint))
	}
	return code
}

func exitCode(err error) int {
	var (
		u usageError
		e envError
	)
	switch {
	case errors.Is(err, attest.ErrIdentityTokenUnavailable):
		return exitEnvironment
	case errors.Is(err, attest.ErrIdentityToken), errors.Is(err, attest.ErrCertificateRefused):
		return exitUsage
	case errors.As(err, &e), errors.Is(err, attest.ErrSign), errors.Is(err, attest.ErrLogUnavailable),
		errors.Is(err, attest.ErrCertificateUnavailable), errors.Is(err, attest.ErrTimestamp):
		return exitEnvironment
	case errors.Is(err, attest.ErrLogRejected):
		return exitFailed
	case errors.Is(err, verify.ErrInvalidPolicy), errors.Is(err, verify.ErrTrustMaterial):
		return exitUsage
	case errors.Is(err, verify.ErrSignature), errors.Is(err, verify.ErrNotLogged), errors.Is(err, verify.ErrDigestMismatch),
		errors.Is(err, verify.ErrUntrustedBuilder), errors.Is(err, verify.ErrPolicy):
		return exitFailed
	case errors.As(err, &u), errors.Is(err, attest.ErrKey), errors.Is(err, attest.ErrPassphrase), errors.Is(err, attest.ErrInvalidProvenance),
		errors.Is(err, builder.ErrInvalidDefinition), errors.Is(err, builder.ErrInvalidSource),
		errors.Is(err, builder.ErrDirtyTree), errors.Is(err, builder.ErrInvalidInput):
		return exitUsage
	case errors.Is(err, builder.ErrEnvironment), errors.Is(err, builder.ErrInterrupted):
		return exitEnvironment
	case errors.Is(err, builder.ErrStepFailed), errors.Is(err, builder.ErrOutputRejected), errors.Is(err, builder.ErrImage):
		return exitFailed
	case strings.Contains(err.Error(), "unknown command"), strings.Contains(err.Error(), "accepts "), strings.Contains(err.Error(), "requires "):
		return exitUsage
	}
	return exitFailed
}

func hintFor(err error) string {
	if h := builder.HintOf(err); h != "" {
		return h
	}
	var u usageError
	if errors.As(err, &u) || strings.Contains(err.Error(), "unknown command") {
		return "run slsabox --help (or slsabox COMMAND --help) for usage"
	}
	if errors.Is(err, builder.ErrInterrupted) {
		return "the build was cancelled and its containers removed; run it again"
	}
	if errors.Is(err, attest.ErrWrongKey) {
		return "pass the key the build signed with (its private key file, KMS URI or public key file)"
	}
	if errors.Is(err, attest.ErrPassphrase) {
		return "export " + attest.PassphraseEnv + " with the passphrase the key was made with"
	}
	if errors.Is(err, attest.ErrKey) {
		return "pass --key with a PKCS#8 PEM private key (slsabox keygen makes one) or a KMS URI"
	}
	return ""
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// logf writes a progress line to stderr unless --quiet.
func (g *globalOptions) logf(w io.Writer, format string, args ...any) {
	if !g.quiet {
		fmt.Fprintf(w, "slsabox: %s\n", termSafe(fmt.Sprintf(format, args...)))
	}
}

// progressWriter prefixes each line with "slsabox: ".
type progressWriter struct {
	w     io.Writer
	quiet bool
}

func (p progressWriter) Write(b []byte) (int, error) {
	if p.quiet {
		return len(b), nil
	}
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if l != "" {
			line, nl := strings.CutSuffix(l, "\n")
			fmt.Fprint(p.w, "slsabox: "+termSafe(line))
			if nl {
				fmt.Fprintln(p.w)
			}
		}
	}
	return len(b), nil
}

func (g *globalOptions) newBuilder(ctx context.Context, stderr io.Writer, opts ...builder.Option) (*builder.Builder, error) {
	base := []builder.Option{builder.WithNamespace(g.namespace), builder.WithProgress(progressWriter{stderr, g.quiet})}
	if !g.quiet {
		base = append(base, builder.WithStepOutput(stderr))
	}
	return builder.New(ctx, g.containerd, append(base, opts...)...)
}

// hinted adds a hint to an error the CLI itself makes.
type hinted struct {
	error
	hint string
}

func (h hinted) Unwrap() error { return h.error }
func (h hinted) Hint() string  { return h.hint }

func withHint(err error, hint string) error { return hinted{err, hint} }
