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
	"github.com/slsabox/slsabox/attest/ocipush"
	"github.com/slsabox/slsabox/attest/verify"
	"github.com/slsabox/slsabox/attest/verify/trustroot"
	"github.com/slsabox/slsabox/internal/hint"
	"github.com/slsabox/slsabox/internal/lazygc"
)

// Exit codes (DESIGN.md section 3): scripts tell "the artifact is bad" from "try again".
const (
	exitOK          = 0
	exitFailed      = 1 // the build failed or verification failed
	exitUsage       = 2 // bad flags or invalid input
	exitEnvironment = 3 // containerd, the log, the network or the disk
)

type globalOptions struct {
	containerd string // the builder's commands only (builder_cmds.go)
	namespace  string // the builder's commands only
	output     string
	quiet      bool
}

// usageError marks errors in how slsabox was called (exit 2).
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

// usageArgs makes the argument count errors of c and its subcommands usage errors.
func usageArgs(c *cobra.Command) {
	if check := c.Args; check != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return usageError{err}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		usageArgs(sub)
	}
}

// envError marks failures of the machine: disk, network, services (exit 3).
type envError struct{ error }

func (e envError) Unwrap() error { return e.error }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	g := &globalOptions{}
	stderr = termWriter{stderr} // progress, step logs and errors: no escape sequences
	root := &cobra.Command{
		Use:           "slsabox",
		Short:         rootShort,
		Long:          rootLong,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	// The root runs only to refuse an unknown command, as a usage error (cobra's own
	// error for it is plain text).
	root.Args = cobra.ArbitraryArgs
	root.SuggestionsMinimumDistance = 2
	root.DisableFlagsInUseLine = true
	root.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			msg += "; did you mean " + strings.Join(s, " or ") + "?"
		}
		return usageError{errors.New(msg)}
	}
	pf := root.PersistentFlags()
	addBuilderFlags(pf, g)
	pf.StringVar(&g.output, "output", "text", "result format on stdout: text or json")
	pf.BoolVarP(&g.quiet, "quiet", "q", false, "print only errors on stderr")

	root.AddCommand(newUploadCmd(g), newKeygenCmd(g), newVersionCmd(g), newVerifyCmd(g), newPushCmd(g), newSBOMCmd(g))
	addBuilderCmds(root, g) // or, in the verify-only build, commands that say it cannot build
	for _, c := range root.Commands() {
		usageArgs(c)
	}
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
	if h := hintFor(err); h != "" {
		fmt.Fprintf(stderr, "slsabox: hint: %s\n", termSafe(h))
	}
	return code
}

// exitCode picks the exit code by failure family (DESIGN.md section 3). An error can
// belong to more than one when it wraps its cause: the order decides, as written.
func exitCode(err error) int {
	var (
		u usageError
		e envError
	)
	switch {
	case errors.Is(err, attest.ErrUnavailable): // the log, Fulcio, the TSA, the token endpoint: retry
		return exitEnvironment
	case errors.Is(err, ocipush.ErrUnavailable): // the registry: push again later
		return exitEnvironment
	case errors.Is(err, ocipush.ErrInvalidImage), errors.Is(err, ocipush.ErrInvalidBundle), errors.Is(err, ocipush.ErrConfiguration):
		return exitUsage
	case errors.Is(err, attest.ErrIdentityToken), errors.Is(err, attest.ErrCertificateRefused):
		return exitUsage
	case errors.As(err, &e), errors.Is(err, attest.ErrSign):
		return exitEnvironment
	case errors.Is(err, attest.ErrLogRejected):
		return exitFailed
	case errors.Is(err, trustroot.ErrNotRefreshed): // no trusted root could be had: run online
		return exitEnvironment
	case errors.Is(err, verify.ErrConfiguration):
		return exitUsage
	case errors.Is(err, verify.ErrNotVerified):
		return exitFailed
	case errors.As(err, &u), errors.Is(err, attest.ErrKey), errors.Is(err, attest.ErrInvalidProvenance):
		return exitUsage
	}
	if code, ok := builderExitCode(err); ok {
		return code
	}
	return exitFailed // the build or the artifact failed
}

func hintFor(err error) string {
	if h := hint.Of(err); h != "" {
		return h
	}
	var u usageError
	if errors.As(err, &u) {
		return "run slsabox --help (or slsabox COMMAND --help) for usage"
	}
	if h := builderHint(err); h != "" {
		return h
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
