package attest

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"sync"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/rekor-tiles/v2/pkg/client"
	"github.com/sigstore/rekor-tiles/v2/pkg/client/write"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/proto"
)

// TransparencyLog adds an entry for a signed bundle and completes the bundle with the
// log's inclusion proof and checkpoint.
type TransparencyLog interface {
	Log(ctx context.Context, b *protobundle.Bundle, keyOrCertPEM []byte) error
	URL() string
}

// Rekor logs to a Rekor server, v1 or v2, with bounded retries.
type Rekor struct {
	url      string
	version  uint32
	timeout  time.Duration
	attempts int
	backoff  time.Duration
}

var _ TransparencyLog = (*Rekor)(nil)

// RekorOption configures a Rekor client.
type RekorOption func(*Rekor) error

// WithRekorVersion picks the server's API: 2 (rekor-tiles, the default) or 1.
func WithRekorVersion(v uint32) RekorOption {
	return func(r *Rekor) error {
		if v != 1 && v != 2 {
			return fmt.Errorf("rekor version %d: use 1 or 2", v)
		}
		r.version = v
		return nil
	}
}

// WithRekorTimeout bounds each attempt (default 20s; a v2 upload waits for the next checkpoint).
func WithRekorTimeout(d time.Duration) RekorOption {
	return func(r *Rekor) error {
		if d <= 0 {
			return fmt.Errorf("rekor timeout %s must be positive", d)
		}
		r.timeout = d
		return nil
	}
}

// WithRekorAttempts bounds the number of attempts (default 4) and the first backoff (default 1s, doubling, with jitter).
func WithRekorAttempts(n int, backoff time.Duration) RekorOption {
	return func(r *Rekor) error {
		if n < 1 || backoff < 0 {
			return fmt.Errorf("rekor attempts %d must be at least 1", n)
		}
		r.attempts, r.backoff = n, backoff
		return nil
	}
}

// NewRekor returns a client for the log at url.
func NewRekor(url string, opts ...RekorOption) (*Rekor, error) {
	if url == "" {
		return nil, errors.New("no rekor url")
	}
	r := &Rekor{url: url, version: 2, timeout: 20 * time.Second, attempts: 4, backoff: time.Second}
	for _, o := range opts {
		if err := o(r); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// URL is the log's base URL.
func (r *Rekor) URL() string { return r.url }

// Log uploads the bundle's signature, retrying with exponential backoff and jitter on
// connection errors, timeouts, 5xx, 408, 429 and 499 answers, never on other 4xx answers.
func (r *Rekor) Log(ctx context.Context, b *protobundle.Bundle, keyOrCertPEM []byte) error {
	var last error
	wait := r.backoff
	for attempt := 1; attempt <= r.attempts; attempt++ {
		err := r.once(ctx, b, keyOrCertPEM)
		if err == nil {
			return nil
		}
		last = err
		switch code := httpStatus(err); {
		case code == 409:
			return fmt.Errorf("%w: %s: %w", ErrLogConflict, r.url, err)
		case code >= 400 && code < 500 && code != 408 && code != 429 && code != 499:
			// 408, 429 and 499 (the server dropped the request) are worth another try.
			return fmt.Errorf("%w: %s: %w", ErrLogRejected, r.url, err)
		}
		if attempt == r.attempts || ctx.Err() != nil {
			break
		}
		jittered := wait/2 + rand.N(wait/2+1)
		select {
		case <-time.After(jittered):
		case <-ctx.Done():
		}
		wait *= 2
	}
	return fmt.Errorf("%w: %s after %d attempts: %w", ErrLogUnavailable, r.url, r.attempts, last)
}

func (r *Rekor) once(ctx context.Context, b *protobundle.Bundle, keyOrCertPEM []byte) error {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	opts := &sign.RekorOptions{BaseURL: r.url, Version: r.version, Timeout: r.timeout}
	if r.version == 2 {
		w, err := write.NewWriter(r.url, client.WithTimeout(r.timeout))
		if err != nil {
			return err
		}
		opts.ClientV2 = w
	}
	before := len(b.GetVerificationMaterial().GetTlogEntries())
	if err := sign.NewRekor(opts).GetTransparencyLogEntry(ctx, keyOrCertPEM, b); err != nil {
		return err
	}
	if len(b.GetVerificationMaterial().GetTlogEntries()) != before+1 {
		return errors.New("the log answered without an entry")
	}
	return nil
}

var statusRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?:unexpected response: |\[POST /api/v1/log/entries\]\[|status code |code: )(\d{3})`)
})

// httpStatus digs the HTTP status out of a client error, or returns 0.
func httpStatus(err error) int {
	if m := statusRE().FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

// Logged reports whether the bundle carries a transparency log entry, and its index.
func Logged(b *bundle.Bundle) (bool, int64) {
	entries := b.GetVerificationMaterial().GetTlogEntries()
	if len(entries) == 0 {
		return false, 0
	}
	return true, entries[0].GetLogIndex()
}

// CheckLoggable refuses signers whose signatures a log cannot check.
func CheckLoggable(s Signer, log TransparencyLog) error {
	if r, ok := log.(*Rekor); ok && r.version == 2 {
		if _, ok := s.GetPublicKey().(ed25519.PublicKey); ok {
			return fmt.Errorf("%w: Rekor v2 checks Ed25519 signatures only in the prehashed form (Ed25519ph), which cosign does not verify: use an ECDSA P-256 key to log", ErrKey)
		}
	}
	return nil
}

// LogBundle logs an already signed bundle and adds the entry to it. keyOrCertPEM is the
// signer's public key (or certificate) PEM; it must be the key that signed the bundle.
func LogBundle(ctx context.Context, b *bundle.Bundle, keyOrCertPEM []byte, log TransparencyLog) error {
	if ok, idx := Logged(b); ok {
		return fmt.Errorf("%w: already logged at index %d", errAlreadyLogged, idx)
	}
	if err := verifySignatureWithKey(b, keyOrCertPEM); err != nil {
		return err
	}
	// Work on a copy: the caller's bundle changes only when the log answered.
	work := proto.Clone(b.Bundle).(*protobundle.Bundle)
	if err := log.Log(ctx, work, keyOrCertPEM); err != nil {
		return err
	}
	b.Bundle = work
	return nil
}

// errAlreadyLogged is returned by LogBundle for a bundle that has an entry; IsAlreadyLogged tells.
var errAlreadyLogged = errors.New("bundle is already in a transparency log")

// IsAlreadyLogged reports whether err says the bundle had an entry already.
func IsAlreadyLogged(err error) bool { return errors.Is(err, errAlreadyLogged) }
