package trustroot

import (
	"fmt"
	"net/url"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/slsabox/slsabox/attest/verify"
)

const (
	// DefaultValidity is how long a refreshed root is used without asking the
	// repository again: a day keeps verify as fast as an offline check on every run
	// but the first of the day, and is well inside the week that Sigstore's timestamp
	// role is valid, so a rotation reaches the cache within a day.
	DefaultValidity = 24 * time.Hour
	// DefaultTimeout bounds a whole refresh (root, timestamp, snapshot, targets and
	// trusted_root.json); a dead network fails faster, after dialTimeout.
	DefaultTimeout = 3 * time.Second
)

// config is what the options gather; Load checks it as a whole.
type config struct {
	mirror     string
	anchor     []byte // the TUF root.json trusted first
	publicGood bool   // the anchor is the embedded public-good one
	cacheDir   string // "" caches nothing
	validity   time.Duration
	timeout    time.Duration
	offline    bool
}

// Option configures Load. An option rejects a bad value with a verify.ErrTrustMaterial
// error; Load then fails with it.
type Option func(*config) error

// WithMirror fetches from the TUF repository at baseURL instead of Sigstore's
// public-good one: a mirror of it, or a private Sigstore instance's repository (with
// WithTUFRoot, its root.json).
func WithMirror(baseURL string) Option {
	return func(c *config) error {
		u, err := url.Parse(baseURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("%w: TUF mirror %q: give the repository's base URL, such as %s", verify.ErrTrustMaterial, baseURL, PublicGoodMirror)
		}
		c.mirror = baseURL
		return nil
	}
}

// WithTUFRoot trusts rootJSON (a TUF root.json, any version) as the anchor instead of
// the embedded public-good one: what a private Sigstore instance publishes for its
// clients (cosign initialize --root). Without the public-good anchor there is no
// embedded root to fall back to, so a first refresh that fails is an error.
func WithTUFRoot(rootJSON []byte) Option {
	return func(c *config) error {
		if _, err := parseRoot(rootJSON); err != nil {
			return fmt.Errorf("%w: TUF root: give the root.json your Sigstore instance publishes: %w", verify.ErrTrustMaterial, err)
		}
		c.anchor, c.publicGood = rootJSON, false
		return nil
	}
}

// WithCacheDir keeps the TUF metadata and the refreshed root under dir (one
// subdirectory per mirror) instead of os.UserCacheDir()/slsabox/tuf.
func WithCacheDir(dir string) Option {
	return func(c *config) error {
		if dir == "" {
			return fmt.Errorf("%w: empty TUF cache directory: give a directory, or leave the default", verify.ErrTrustMaterial)
		}
		c.cacheDir = dir
		return nil
	}
}

// WithValidity uses a root refreshed less than d ago without asking the repository
// (DefaultValidity); 0 refreshes on every Load.
func WithValidity(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("%w: negative cache validity %s", verify.ErrTrustMaterial, d)
		}
		c.validity = d
		return nil
	}
}

// WithTimeout bounds the refresh (DefaultTimeout).
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("%w: TUF refresh timeout %s: give a positive duration", verify.ErrTrustMaterial, d)
		}
		c.timeout = d
		return nil
	}
}

// WithOffline never touches the network: the cached root, whatever its age, else the
// embedded one.
func WithOffline() Option {
	return func(c *config) error {
		c.offline = true
		return nil
	}
}

// parseRoot reads a TUF root.json and checks that it is signed by its own root keys,
// which every root a client may start from is.
func parseRoot(data []byte) (*metadata.Metadata[metadata.RootType], error) {
	m, err := metadata.Root().FromBytes(data)
	if err != nil {
		return nil, err
	}
	if err := m.VerifyDelegate(metadata.ROOT, m); err != nil {
		return nil, err
	}
	return m, nil
}
