package trustroot

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tuf"
	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/slsabox/slsabox/attest/verify"
)

// targetName is the TUF target that holds a Sigstore instance's trusted root.
const targetName = "trusted_root.json"

// Source says where a Root came from.
type Source string

const (
	// SourceRefreshed: fetched and verified through TUF during this Load.
	SourceRefreshed Source = "refreshed"
	// SourceCache: the copy of an earlier refresh.
	SourceCache Source = "cache"
	// SourceEmbedded: the public-good root pinned in attest/verify.
	SourceEmbedded Source = "embedded"
)

// Root is a trusted root and where it came from.
type Root struct {
	TrustedRoot *root.TrustedRoot
	Source      Source
	// Name says which root this is, for reports: the mirror and when it was refreshed.
	Name string
	// Refreshed is when the root was last verified through TUF (zero if embedded).
	Refreshed time.Time
	// Warning, when not nil, says why the root is not a fresh refresh: it wraps
	// ErrNotRefreshed, and ErrRejected when the repository failed TUF verification.
	Warning error
}

func (r *Root) refreshedOrZero() time.Time {
	if r == nil {
		return time.Time{}
	}
	return r.Refreshed
}

// Option hands the root to verify.New, named for the Verifier's report.
func (r *Root) Option() verify.Option {
	if r.Source == SourceEmbedded {
		return verify.WithPublicGoodTrustedRoot()
	}
	return verify.WithTrustedRootFrom(r.TrustedRoot, r.Name)
}

// Load returns the current trusted root of the TUF repository (Sigstore's public-good
// one unless WithMirror). A root refreshed less than the validity ago is read from
// the cache with no request; otherwise it is refreshed through TUF, within the
// timeout. When the refresh fails, or WithOffline, the cached root (of any age) is
// used, else the embedded public-good root when the anchor is the public-good one,
// and Root.Warning says why. An error means no root at all: a private instance's
// first refresh failed (verify.ErrTrustMaterial wrapping ErrNotRefreshed), or ctx
// was cancelled.
func Load(ctx context.Context, opts ...Option) (*Root, error) {
	c := config{mirror: PublicGoodMirror, anchor: publicGoodTUFRoot, publicGood: true, validity: DefaultValidity, timeout: DefaultTimeout}
	if dir, err := os.UserCacheDir(); err == nil {
		c.cacheDir = filepath.Join(dir, "slsabox", "tuf")
	}
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	if c.cacheDir == "" && c.offline {
		return c.fallback(fmt.Errorf("%w: offline, and no cache directory (set one: the user cache directory is unknown)", ErrNotRefreshed))
	}
	cached, cacheErr := c.readCache()
	if c.offline {
		if cached != nil {
			return cached, nil
		}
		return c.fallback(fmt.Errorf("%w: offline, and %w", ErrNotRefreshed, cacheErr))
	}
	// A refresh time in the future (a clock set back, an edited record) is stale:
	// otherwise the cache would never be refreshed.
	if age := time.Since(cached.refreshedOrZero()); cached != nil && age >= 0 && age < c.validity {
		return cached, nil
	}
	r, err := c.refresh(ctx, cached)
	if err == nil {
		return r, nil
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("refreshing the trusted root from %s: %w", c.mirror, ctx.Err())
	}
	if cached != nil {
		cached.Warning = err
		return cached, nil
	}
	return c.fallback(err)
}

// fallback is the embedded public-good root, with why as its warning; a private
// instance has no embedded root, so it gets an error.
func (c *config) fallback(why error) (*Root, error) {
	if !c.publicGood {
		return nil, fmt.Errorf("%w: no trusted root for the TUF repository %s (slsabox embeds only Sigstore's public-good one): %w: refresh once with the repository reachable, or give --trusted-root", verify.ErrTrustMaterial, c.mirror, why)
	}
	tr, err := verify.PublicGoodTrustedRoot()
	if err != nil {
		return nil, err
	}
	return &Root{TrustedRoot: tr, Source: SourceEmbedded, Name: "Sigstore public-good (embedded, " + verify.PublicGoodRootModule + ")", Warning: why}, nil
}

// refresh runs sigstore-go's TUF client against the mirror, from the newest root it
// can trust (cached, or the anchor), and caches the verified trusted_root.json.
func (c *config) refresh(ctx context.Context, cached *Root) (*Root, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	opts := &tuf.Options{
		Root:              c.startRoot(cached != nil),
		RepositoryBaseURL: c.mirror,
		CacheValidity:     tuf.NoCache, // Load decides when to refresh
		Fetcher:           newHTTPFetcher(ctx),
		Context:           ctx,
	}
	if c.cacheDir == "" {
		opts.DisableLocalCache = true
	} else {
		opts.CachePath = c.tufCache()
	}
	client, err := tuf.New(opts)
	if err != nil {
		return nil, c.refreshError(err)
	}
	data, err := client.GetTarget(targetName)
	if err != nil {
		return nil, c.refreshError(err)
	}
	tr, err := root.NewTrustedRootFromJSON(data)
	if err != nil {
		return nil, fmt.Errorf("%w: the %s that %s signed does not parse (tell its operators): %w", ErrNotRefreshed, targetName, c.mirror, err)
	}
	r := &Root{TrustedRoot: tr, Source: SourceRefreshed, Refreshed: time.Now().UTC()}
	r.Name = c.name(r.Refreshed, "")
	if err := c.writeCache(data, r.Refreshed); err != nil {
		r.Warning = fmt.Errorf("the trusted root was refreshed but not cached, so the next run refreshes again: %w", err)
	}
	return r, nil
}

// startRoot is the TUF root the client starts from: the cached root.json that an
// earlier refresh from this anchor verified and stored, when it is newer than the
// anchor (it follows the repository's root rotations, and a rollback to the anchor's
// version would undo them), else the anchor.
func (c *config) startRoot(cacheValid bool) []byte {
	if !cacheValid {
		return c.anchor
	}
	data, err := os.ReadFile(filepath.Join(c.dir(), "root.json"))
	if err != nil {
		return c.anchor
	}
	got, err := parseRoot(data)
	if err != nil {
		return c.anchor
	}
	anchor, err := parseRoot(c.anchor)
	if err != nil || got.Signed.Version <= anchor.Signed.Version {
		return c.anchor
	}
	return data
}

// refreshError classes a failed refresh: a TUF verification failure (go-tuf's
// ErrRepository family: bad signature, rollback, expired, hash mismatch) is
// ErrRejected, anything else (network, server, disk) ErrNotRefreshed.
func (c *config) refreshError(err error) error {
	if errors.Is(err, &metadata.ErrRepository{}) {
		return fmt.Errorf("%w: %s: %w", ErrRejected, c.mirror, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrNotRefreshed, c.mirror, err)
}

// name says which root it is: whose, from which mirror, refreshed when, and how.
func (c *config) name(refreshed time.Time, how string) string {
	who := "Sigstore public-good"
	if !c.publicGood {
		who = "private Sigstore instance"
	}
	return fmt.Sprintf("%s, TUF %s, %srefreshed %s", who, c.mirror, how, refreshed.UTC().Format(time.RFC3339))
}
