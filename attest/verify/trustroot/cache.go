package trustroot

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tuf"

	"github.com/slsabox/slsabox/internal/atomicfile"
)

// cacheFile is slsabox's record of the last refresh, beside the TUF metadata that
// sigstore-go keeps in the same directory: when, from which mirror and anchor, and
// the trusted_root.json it verified. One file, written atomically, so that a reader
// sees one refresh whole.
const cacheFile = "slsabox-trusted-root.json"

type cacheRecord struct {
	Mirror       string          `json:"mirror"`
	AnchorSHA256 string          `json:"anchorSHA256"`
	Refreshed    time.Time       `json:"refreshed"`
	TrustedRoot  json.RawMessage `json:"trustedRoot"`
}

// tufCache is the directory sigstore-go's client is given: one per TUF anchor, so
// that the root.json a refresh from one anchor stored is never where a refresh from
// another anchor starts (startRoot trusts what it finds there).
func (c *config) tufCache() string { return filepath.Join(c.cacheDir, c.anchorSHA256()[:16]) }

// dir is the mirror's cache directory, the one sigstore-go's client uses.
func (c *config) dir() string { return filepath.Join(c.tufCache(), tuf.URLToPath(c.mirror)) }

func (c *config) anchorSHA256() string {
	sum := sha256.Sum256(c.anchor)
	return hex.EncodeToString(sum[:])
}

// readCache returns the cached root of this mirror and anchor, or why there is none.
// A record of another anchor is ignored: it was not verified from the root given now.
func (c *config) readCache() (*Root, error) {
	if c.cacheDir == "" {
		return nil, fmt.Errorf("no cache directory")
	}
	path := filepath.Join(c.dir(), cacheFile)
	if _, err := os.Lstat(path); err != nil {
		return nil, fmt.Errorf("no cached root in %s", c.dir())
	}
	// The record and the directories down to it (where sigstore-go keeps the TUF
	// metadata a refresh starts from) must be this user's alone.
	for _, p := range []string{c.cacheDir, c.tufCache(), c.dir(), path} {
		if err := checkOwner(p); err != nil {
			return nil, fmt.Errorf("the cached root is not trusted (fix the cache's owner and permissions, or remove it): %w", err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("no cached root in %s", c.dir())
	}
	var rec cacheRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("the cached root %s does not parse (it is replaced at the next refresh): %w", path, err)
	}
	if rec.Mirror != c.mirror || rec.AnchorSHA256 != c.anchorSHA256() {
		return nil, fmt.Errorf("the cached root %s is of another TUF root or mirror", path)
	}
	tr, err := root.NewTrustedRootFromJSON(rec.TrustedRoot)
	if err != nil {
		return nil, fmt.Errorf("the cached root %s does not parse (it is replaced at the next refresh): %w", path, err)
	}
	return &Root{TrustedRoot: tr, Source: SourceCache, Name: c.name(rec.Refreshed, "cached, "), Refreshed: rec.Refreshed}, nil
}

func (c *config) writeCache(trustedRoot []byte, refreshed time.Time) error {
	if c.cacheDir == "" {
		return nil
	}
	data, err := json.Marshal(cacheRecord{Mirror: c.mirror, AnchorSHA256: c.anchorSHA256(), Refreshed: refreshed, TrustedRoot: trustedRoot})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.dir(), 0o700); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(c.dir(), cacheFile), data, 0o644)
}
