package verify

import (
	"bytes"
	"crypto"
	"fmt"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// config is the trust material the options gather; New checks it as a whole.
type config struct {
	root     *root.TrustedRoot
	rootName string
	key      crypto.PublicKey
	noTlog   bool
}

// Option configures a Verifier. An option rejects a bad value, and one that conflicts
// with an option given before it, with an ErrTrustMaterial error that says what to
// give instead; New then fails with that error.
type Option func(*config) error

// rootTaken refuses a second trusted root, named name: which one to trust is the
// caller's choice, not the order of the options.
func (c *config) rootTaken(name string) error {
	if c.root != nil {
		return fmt.Errorf("%w: two trusted roots (%s and %s): give one", ErrTrustMaterial, c.rootName, name)
	}
	return nil
}

// WithTrustedRoot trusts the logs (and authorities) of a Sigstore trusted root.
func WithTrustedRoot(tr *root.TrustedRoot) Option {
	return func(c *config) error {
		if tr == nil {
			return fmt.Errorf("%w: nil trusted root: pass a parsed trusted_root.json (or use WithTrustedRootFile)", ErrTrustMaterial)
		}
		if err := c.rootTaken("given"); err != nil {
			return err
		}
		c.root, c.rootName = tr, "given"
		return nil
	}
}

// WithTrustedRootFrom trusts tr, naming it from in reports and errors (Verifier.TrustedRoot):
// a root obtained elsewhere, such as refreshed through TUF by attest/verify/trustroot.
func WithTrustedRootFrom(tr *root.TrustedRoot, from string) Option {
	return func(c *config) error {
		if tr == nil {
			return fmt.Errorf("%w: nil trusted root (%s)", ErrTrustMaterial, from)
		}
		if err := c.rootTaken(from); err != nil {
			return err
		}
		c.root, c.rootName = tr, from
		return nil
	}
}

// WithTrustedRootFile reads a trusted_root.json (scripts/rekor.sh trusted-root writes
// one for the local log).
func WithTrustedRootFile(path string) Option {
	return func(c *config) error {
		if err := c.rootTaken(path); err != nil {
			return err
		}
		tr, err := root.NewTrustedRootFromPath(path)
		if err != nil {
			return fmt.Errorf("%w: reading trusted root %s (give the trusted_root.json of the log and authorities that vouch for the bundles): %w", ErrTrustMaterial, path, err)
		}
		c.root, c.rootName = tr, path
		return nil
	}
}

// WithPublicGoodTrustedRoot trusts Sigstore's public-good instance through the pinned,
// embedded trusted root: what a consumer of artifacts logged to rekor.sigstore.dev
// needs, with nothing fetched.
func WithPublicGoodTrustedRoot() Option {
	return func(c *config) error {
		name := "Sigstore public-good (embedded, " + PublicGoodRootModule + ")"
		if err := c.rootTaken(name); err != nil {
			return err
		}
		tr, err := PublicGoodTrustedRoot()
		if err != nil {
			return err
		}
		c.root, c.rootName = tr, name
		return nil
	}
}

// WithPublicKey trusts signatures made by the key (PEM "PUBLIC KEY"), whatever key
// hint the bundle carries: the trust material of key-signed bundles, the ones slsabox
// build --key writes.
func WithPublicKey(pem []byte) Option {
	return func(c *config) error {
		if c.key != nil {
			return fmt.Errorf("%w: two public keys: give the one the builder signs with", ErrTrustMaterial)
		}
		pub, err := cryptoutils.UnmarshalPEMToPublicKey(bytes.TrimSpace(pem))
		if err != nil {
			return fmt.Errorf("%w: public key (give a PEM PUBLIC KEY, such as slsabox keygen's PREFIX.pub): %w", ErrTrustMaterial, err)
		}
		c.key = pub
		return nil
	}
}

// WithoutTransparencyLogUnsafe accepts bundles without a transparency log proof: a
// signature alone does not show that the signing was made public, so a stolen key goes
// unnoticed. Every report then carries a warning.
func WithoutTransparencyLogUnsafe() Option {
	return func(c *config) error {
		c.noTlog = true
		return nil
	}
}
