// Package kmsplugin runs one of sigstore's KMS providers as a plugin program of
// sigstore's KMS plugin protocol (github.com/sigstore/sigstore/pkg/signature/kms/cliplugin):
// for a key URI SCHEME://REF that no linked provider serves, sigstore's kms.Get runs
// the program sigstore-kms-SCHEME from PATH once per call (public key, sign), with
// the call's arguments as JSON in argv and the message on stdin, and reads the answer
// as JSON on stdout.
//
// The slsabox command links no cloud SDK, so that `slsabox verify` starts quickly;
// its --key awskms://… (gcpkms://, azurekms://, hashivault://) runs the programs of
// cmd/sigstore-kms-*, each of which links one provider and calls Main.
package kmsplugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/kms"
	"github.com/sigstore/sigstore/pkg/signature/kms/cliplugin/common"
	"github.com/sigstore/sigstore/pkg/signature/kms/cliplugin/encoding"
	"github.com/sigstore/sigstore/pkg/signature/kms/cliplugin/handler"
)

// Main serves one call of the protocol for the provider registered for scheme
// (awskms, gcpkms, …), which the calling program links, and returns the exit code.
// args are the program's arguments (os.Args); errors go to stdout as the protocol's
// error response, and to stderr, which the calling program shows its user.
func Main(scheme string, args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	// sigstore's handlers assume well-formed calls; a malformed one must still get
	// exactly one error response.
	defer func() {
		if r := recover(); r != nil {
			err := fmt.Errorf("malformed call: %v", r)
			_ = handler.WriteErrorResponse(stdout, err)
			fmt.Fprintf(stderr, "sigstore-kms-%s: %v\n", scheme, err)
			code = 1
		}
	}()
	if err := serve(scheme, args, stdin, stdout); err != nil {
		var a *answered
		if !errors.As(err, &a) {
			_ = handler.WriteErrorResponse(stdout, err)
		}
		fmt.Fprintf(stderr, "sigstore-kms-%s: %v\n", scheme, err)
		return 1
	}
	return 0
}

func serve(scheme string, args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 2 && (args[1] == "--help" || args[1] == "-h") {
		return fmt.Errorf("this program is a KMS plugin that sigstore clients (slsabox, cosign) run for --key %s://KEY; "+
			"put it on PATH instead of running it", scheme)
	}
	if len(args) < 3 {
		return fmt.Errorf("expected the protocol version and the call as JSON, got %d arguments: "+
			"slsabox and cosign run this program for --key %s://KEY; it is not run by hand", len(args)-1, scheme)
	}
	if args[1] != common.ProtocolVersion {
		return fmt.Errorf("protocol version %q, but this plugin speaks %q: build it from the same slsabox release as the program that runs it",
			args[1], common.ProtocolVersion)
	}
	pa, err := handler.GetPluginArgs(args)
	if err != nil {
		return fmt.Errorf("reading the call: %w", err)
	}
	if pa.InitOptions == nil || pa.MethodArgs == nil {
		return fmt.Errorf("reading the call: no initOptions or no methodName")
	}
	if err := complete(pa.MethodArgs); err != nil {
		return fmt.Errorf("reading the call: %w", err)
	}
	if pa.InitOptions.ProtocolVersion != common.ProtocolVersion {
		return fmt.Errorf("protocol version %q in the call, but this plugin speaks %q",
			pa.InitOptions.ProtocolVersion, common.ProtocolVersion)
	}
	// kms.Get falls back to running a plugin when no provider matches: with none
	// linked for scheme that would run this very program again.
	prefix := scheme + "://"
	if !slices.Contains(kms.SupportedProviders(), prefix) {
		return fmt.Errorf("this build of sigstore-kms-%s links no provider for %s", scheme, prefix)
	}
	// The deadline is the one of the call that loaded the key, which sigstore's
	// client repeats in every later call; some providers keep this context for their
	// later requests, so it bounds opening the key only. Each method's own deadline
	// comes with its options.
	ctx := context.Background()
	if d := pa.InitOptions.CtxDeadline; d != nil && pa.MethodName == common.PublicKeyMethodName {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, *d)
		defer cancel()
	}
	var rpc []signature.RPCOption
	if pa.InitOptions.RPCOptions != nil {
		rpc = encoding.UnpackRPCOptions(pa.InitOptions.RPCOptions)
	}
	sv, err := kms.Get(ctx, prefix+pa.InitOptions.KeyResourceID, pa.InitOptions.HashFunc, rpc...)
	if err != nil {
		return fmt.Errorf("opening %s%s: %w", prefix, pa.InitOptions.KeyResourceID, err)
	}
	// Dispatch writes the response, the method's error included, itself.
	resp, err := handler.Dispatch(stdout, stdin, pa, sv)
	if err != nil {
		return &answered{fmt.Errorf("writing the response: %w", err)}
	}
	if resp.ErrorMessage != "" {
		return &answered{errors.New(resp.ErrorMessage)}
	}
	return nil
}

// complete checks that the method's arguments and options are there: sigstore's
// handlers dereference them.
func complete(m *common.MethodArgs) error {
	missing := false
	switch m.MethodName {
	case common.PublicKeyMethodName:
		missing = m.PublicKey == nil || m.PublicKey.PublicKeyOptions == nil
	case common.SignMessageMethodName:
		missing = m.SignMessage == nil || m.SignMessage.SignOptions == nil
	case common.VerifySignatureMethodName:
		missing = m.VerifySignature == nil || m.VerifySignature.VerifyOptions == nil
	case common.CreateKeyMethodName:
		missing = m.CreateKey == nil
	}
	if missing {
		return fmt.Errorf("the arguments of %s are missing", m.MethodName)
	}
	return nil
}

// answered is an error the plugin already sent as its response.
type answered struct{ err error }

func (a *answered) Error() string { return a.err.Error() }
func (a *answered) Unwrap() error { return a.err }
