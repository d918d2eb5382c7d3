package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/slsabox/slsabox/attest"
	"github.com/slsabox/slsabox/internal/atomicfile"
)

func newKeygenCmd(g *globalOptions) *cobra.Command {
	var (
		prefix string
		alg    string
		force  bool
	)
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Write a signing key pair: PREFIX.key (PKCS#8 PEM, mode 0600) and PREFIX.pub",
		Long: `keygen writes a new key pair for signing provenance: PREFIX.key, the private key as
PKCS#8 PEM readable only by you, and PREFIX.pub, the public key consumers verify with.
When $SLSABOX_KEY_PASSWORD is set, the private key is encrypted with it (PBES2,
AES-256, PBKDF2) and slsabox build reads the same variable to use it.
Existing files are never overwritten without --force.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			keyPath, pubPath := prefix+".key", prefix+".pub"
			if !force {
				for _, p := range []string{keyPath, pubPath} {
					if _, err := os.Stat(p); err == nil {
						return usageError{fmt.Errorf("%s exists; pass --force to replace it or choose another --out", p)}
					}
				}
			}
			priv, pub, err := attest.GenerateKey(attest.KeyAlgorithm(alg), []byte(os.Getenv(attest.PassphraseEnv)))
			if err != nil {
				return usageError{err}
			}
			if err := atomicfile.Write(keyPath, priv, 0o600); err != nil {
				return envError{err}
			}
			if err := atomicfile.Write(pubPath, pub, 0o644); err != nil {
				return envError{errors.Join(err, os.Remove(keyPath))}
			}
			enc := ""
			if os.Getenv(attest.PassphraseEnv) != "" {
				enc = fmt.Sprintf(" (encrypted with $%s)", attest.PassphraseEnv)
			}
			g.logf(cmd.ErrOrStderr(), "wrote private key %s%s and public key %s", keyPath, enc, pubPath)
			_, err = fmt.Fprintln(cmd.OutOrStdout(), pubPath)
			return err
		},
	}
	cmd.Flags().StringVar(&prefix, "out", "slsabox", "path prefix of the two files")
	cmd.Flags().StringVar(&alg, "algorithm", string(attest.ECDSAP256), "ecdsa-p256 or ed25519")
	cmd.Flags().BoolVar(&force, "force", false, "replace existing files")
	return cmd
}
