// Package conformance maps the client CLI protocol of Sigstore's conformance suite
// (github.com/sigstore/sigstore-conformance, docs/cli_protocol.md) onto slsabox's
// verification library, attest/verify, so that the suite's bundle-verify cases
// exercise the same code slsabox verify runs. cmd/slsabox-conformance is the
// entrypoint the suite's pytest harness calls (--entrypoint); the cases themselves
// run offline in this package's tests, from the vendored test data (testdata/README.md).
//
// Only verification is in scope: slsabox signs its own attestations, and the suite's
// signing cases need the public Fulcio, Rekor and an OIDC token. docs/conformance.md
// lists every case and its result.
package conformance

import (
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/bundle"

	"github.com/slsabox/slsabox/attest/verify"
)

// Exit codes, as slsabox's: the suite only tells zero (verified) from the rest.
const (
	exitOK       = 0
	exitFailed   = 1 // verification failed
	exitUsage    = 2 // bad arguments, unreadable input, or a subcommand out of scope
	maxBundleLen = 64 << 20
)

// Run executes one call of the protocol (args without the program name) and returns
// the exit code: 0 only when the bundle verified. Results go to stdout, errors to stderr.
func Run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "slsabox-conformance: error: no subcommand: use verify-bundle")
		return exitUsage
	}
	switch args[0] {
	case "verify-bundle", "verify":
		return verifyBundle(args[1:], stdout, stderr)
	case "sign-bundle", "sign":
		fmt.Fprintf(stderr, "slsabox-conformance: error: %s is out of scope: slsabox signs only its own builds' attestations; see docs/conformance.md\n", args[0])
		return exitUsage
	default:
		fmt.Fprintf(stderr, "slsabox-conformance: error: unknown subcommand %q: use verify-bundle\n", args[0])
		return exitUsage
	}
}

// request is one verify-bundle call.
type request struct {
	bundle, key, trustedRoot string
	identity, issuer         string
	staging                  bool
	artifact                 string // FILE_OR_DIGEST
}

func parse(args []string) (request, error) {
	var r request
	fs := flag.NewFlagSet("verify-bundle", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.BoolVar(&r.staging, "staging", false, "use Sigstore's staging instance")
	fs.StringVar(&r.bundle, "bundle", "", "the bundle")
	fs.StringVar(&r.identity, "certificate-identity", "", "the certificate's SAN")
	fs.StringVar(&r.issuer, "certificate-oidc-issuer", "", "the certificate's OIDC issuer")
	fs.StringVar(&r.key, "key", "", "the signer's PEM public key")
	fs.StringVar(&r.trustedRoot, "trusted-root", "", "a trusted_root.json")
	if err := fs.Parse(args); err != nil {
		return r, err
	}
	switch {
	case fs.NArg() != 1:
		return r, fmt.Errorf("want one FILE_OR_DIGEST after the flags, got %d arguments", fs.NArg())
	case r.bundle == "":
		return r, errors.New("no --bundle")
	case r.key == "" && (r.identity == "" || r.issuer == ""):
		return r, errors.New("give --key, or --certificate-identity and --certificate-oidc-issuer")
	case r.key != "" && (r.identity != "" || r.issuer != ""):
		return r, errors.New("--key and a certificate identity conflict: give one")
	case r.staging && r.trustedRoot == "":
		return r, errors.New("--staging without --trusted-root: the staging trusted root comes from Sigstore's TUF repository, which this offline client does not fetch; give its trusted_root.json")
	}
	r.artifact = fs.Arg(0)
	return r, nil
}

func verifyBundle(args []string, stdout, stderr io.Writer) int {
	r, err := parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "slsabox-conformance: error: %v\n", err)
		return exitUsage
	}
	rep, err := r.verify()
	if rep != nil {
		for _, c := range rep.Checks {
			state := "ok"
			switch {
			case c.Skipped:
				state = "skipped"
			case !c.OK:
				state = "FAILED"
			}
			fmt.Fprintf(stdout, "%-20s %-7s %s\n", c.Name, state, c.Detail)
		}
	}
	switch {
	case err == nil:
		fmt.Fprintln(stdout, "verified")
		return exitOK
	case errors.Is(err, verify.ErrNotVerified):
		fmt.Fprintf(stderr, "slsabox-conformance: error: %v\n", err)
		return exitFailed
	default:
		fmt.Fprintf(stderr, "slsabox-conformance: error: %v\n", err)
		return exitUsage
	}
}

// verify runs the request through attest/verify. A bundle that cannot be read is a
// verification failure (ErrSignature): the suite's malformed bundles are bad input
// to be refused, like any tampering.
func (r request) verify() (*verify.Report, error) {
	opts := []verify.Option{verify.WithPublicGoodTrustedRoot()}
	if r.trustedRoot != "" {
		opts[0] = verify.WithTrustedRootFile(r.trustedRoot)
	}
	var id *verify.Identity
	if r.key != "" {
		pem, err := os.ReadFile(r.key)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", verify.ErrTrustMaterial, err)
		}
		opts = append(opts, verify.WithPublicKey(pem))
	} else {
		id = &verify.Identity{SubjectAlternativeName: r.identity, Issuer: r.issuer}
	}
	v, err := verify.New(opts...)
	if err != nil {
		return nil, err
	}
	a, err := artifact(r.artifact)
	if err != nil {
		return nil, err
	}
	b, err := readBundle(r.bundle)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", verify.ErrSignature, r.bundle, err)
	}
	return v.VerifyArtifact(b, a, id)
}

// artifact reads FILE_OR_DIGEST as the protocol says: a digest when it is sha256:
// and 64 hex digits and names no file, a file otherwise.
func artifact(s string) (verify.Artifact, error) {
	if h, ok := strings.CutPrefix(s, "sha256:"); ok && len(h) == 64 {
		if _, err := hex.DecodeString(h); err == nil {
			if _, err := os.Stat(s); errors.Is(err, os.ErrNotExist) {
				return verify.ArtifactDigest(s)
			}
		}
	}
	return verify.ArtifactFile(s)
}

func readBundle(path string) (*bundle.Bundle, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxBundleLen+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxBundleLen {
		return nil, fmt.Errorf("larger than %d bytes", maxBundleLen)
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON(data); err != nil {
		return nil, err
	}
	return &b, nil
}
