package ociref

import (
	"context"
	"errors"
	"fmt"
)

// Bundle is one attached bundle, or the referrer that was refused in its place.
type Bundle struct {
	// Source names where it was found: REGISTRY/REPO@sha256:HEX (the referrer
	// manifest), or for a layout DIR@sha256:HEX.
	Source string
	// JSON is the bundle as attached, unverified; nil when Err is set.
	JSON []byte
	// Err says why the referrer was refused (it wraps ErrRefused).
	Err error
}

// Option configures Find.
type Option func(*options) error

type options struct {
	maxBundle int64
}

// WithMaxBundleSize bounds one bundle (default DefaultMaxBundleSize).
func WithMaxBundleSize(n int64) Option {
	return func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("%w: the bundle size limit must be positive, not %d", ErrReference, n)
		}
		o.maxBundle = n
		return nil
	}
}

// Find returns the bundles attached to the image ref names, in the order the
// registry (or index.json) lists them, at most 32; refused referrers come back with
// Err set. It fails with ErrNoAttestation when no referrer is of the bundle
// artifact type, ErrUnreachable when the registry cannot be asked, ErrInvalidImage
// when a layout does not hold the image intact, and ErrReference for a reference
// or option it cannot use.
func Find(ctx context.Context, ref Reference, opts ...Option) ([]Bundle, error) {
	o := options{maxBundle: DefaultMaxBundleSize}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if !digestRE().MatchString(ref.Digest) || ref.Name == "" {
		return nil, fmt.Errorf("%w: %q: build the Reference with ParseReference", ErrReference, ref.String())
	}
	var (
		bundles []Bundle
		err     error
	)
	if ref.Layout {
		bundles, err = findInLayout(ref, o)
	} else {
		bundles, err = findInRegistry(ctx, ref, o)
	}
	if err != nil {
		return nil, err
	}
	if len(bundles) == 0 {
		return nil, fmt.Errorf("%w: %s has no referrer of artifact type %s: attach the provenance (slsabox push) or pass the build's bundle with --bundle", ErrNoAttestation, ref, BundleMediaType)
	}
	return bundles, nil
}

// refused records a referrer refused for err, keeping the class.
func refused(source string, err error) Bundle {
	if !errors.Is(err, ErrRefused) {
		err = fmt.Errorf("%w: %w", ErrRefused, err)
	}
	return Bundle{Source: source, Err: err}
}
