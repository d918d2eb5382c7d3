package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/spf13/cobra"

	"github.com/slsabox/slsabox/attest"
)

func newUploadCmd(g *globalOptions) *cobra.Command {
	var (
		bundlePath string
		key        string
		rekor      rekorFlags
	)
	cmd := &cobra.Command{
		Use:   "upload --bundle B --key K --rekor-url URL",
		Short: "Log a signed bundle that could not be logged at build time, completing it in place",
		Long: `upload logs the signature of a bundle that slsabox build wrote without a log entry
(because the log was down) and rewrites the bundle in place, atomically, with the
entry's inclusion proof and checkpoint. --key is the key the build signed with (the
private key file or KMS URI, or its public key file): a key-signed bundle carries only
a hint of its key, and the log needs the key itself. A keyless bundle carries its
certificate and needs no --key. A bundle that is logged already
is left as it is.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if bundlePath == "" || rekor.url == "" {
				return usageError{fmt.Errorf("upload needs --bundle, --rekor-url and, for a key-signed bundle, --key")}
			}
			data, err := os.ReadFile(bundlePath)
			if err != nil {
				return usageError{err}
			}
			b, err := attest.ParseBundle(data)
			if err != nil {
				return usageError{fmt.Errorf("%s: %w", bundlePath, err)}
			}
			var (
				pub    []byte
				signer attest.Signer
			)
			if key == "" {
				// A keyless bundle carries its certificate; a key-signed one needs --key.
				if pub, err = attest.SignerPEM(b, nil); err != nil {
					return usageError{err}
				}
			} else {
				if pub, err = attest.LoadPublicKeyPEM(ctx, key); err != nil {
					return err
				}
				// With the private key at hand, a signature the log already holds (an upload
				// that got through after the client gave up) is replaced by a fresh one.
				signer, _ = attest.LoadSigner(ctx, key)
			}
			log, err := rekor.client()
			if err != nil {
				return err
			}
			out := provenanceInfo{Bundle: bundlePath}
			err = attest.LogBundle(ctx, b, pub, log)
			if errors.Is(err, attest.ErrLogConflict) && signer != nil {
				g.logf(cmd.ErrOrStderr(), "the log holds this signature already; signing the statement again")
				var fresh *bundle.Bundle
				if fresh, err = attest.SignPayload(ctx, b.GetDsseEnvelope().GetPayload(), signer); err == nil {
					if err = attest.LogBundle(ctx, fresh, pub, log); err == nil {
						b = fresh
					}
				}
			}
			switch {
			case attest.IsAlreadyLogged(err):
				out.Logged = true
				_, out.LogIndex = attest.Logged(b)
				g.logf(cmd.ErrOrStderr(), "%s is already logged (index %d): nothing to do", bundlePath, out.LogIndex)
			case err != nil:
				return err
			default:
				if err := attest.WriteBundle(bundlePath, b); err != nil {
					return envError{err}
				}
				out.Logged, out.LogURL = true, log.URL()
				_, out.LogIndex = attest.Logged(b)
				g.logf(cmd.ErrOrStderr(), "logged to %s at index %d; %s now carries the entry", log.URL(), out.LogIndex, bundlePath)
			}
			if g.output == "json" {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(out)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "log entry: index %d\n", out.LogIndex)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&bundlePath, "bundle", "", "the bundle to log (rewritten in place)")
	f.StringVar(&key, "key", os.Getenv("SLSABOX_KEY"), "the key the bundle was signed with: private key file, KMS URI or public key file")
	rekor.register(f)
	return cmd
}
