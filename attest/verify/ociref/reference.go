package ociref

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
)

// Schemes of the references ParseReference reads.
const (
	SchemeRegistry = "oci://"
	SchemeLayout   = "oci-layout:"
)

// Reference is an image pinned by digest, in a registry or in a layout directory.
type Reference struct {
	// Name is REGISTRY/REPO for a registry image (no tag, no digest), or the
	// layout's directory.
	Name string
	// Digest is the image's manifest (or index) digest, sha256:HEX.
	Digest string
	// Layout is set for an oci-layout: reference.
	Layout bool
}

// IsReference reports whether s is written as an image reference (oci:// or
// oci-layout:) rather than a file name.
func IsReference(s string) bool {
	return strings.HasPrefix(s, SchemeRegistry) || strings.HasPrefix(s, SchemeLayout)
}

var digestRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^sha256:[0-9a-f]{64}$`) })

// ParseReference reads oci://REGISTRY/REPO@sha256:HEX or oci-layout:DIR@sha256:HEX.
// A tag is refused: what a tag names changes, and trusting what it resolves to
// once is trust on first use; pin the digest.
func ParseReference(s string) (Reference, error) {
	var r Reference
	rest, ok := strings.CutPrefix(s, SchemeRegistry)
	if !ok {
		if rest, ok = strings.CutPrefix(s, SchemeLayout); !ok {
			return r, fmt.Errorf("%w: %.200q: write oci://REGISTRY/REPO@sha256:HEX or oci-layout:DIR@sha256:HEX", ErrReference, s)
		}
		r.Layout = true
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		what := "the image's manifest digest"
		if !r.Layout && strings.Contains(rest[strings.LastIndex(rest, "/")+1:], ":") {
			what = "a digest instead of the tag (a tag can be moved: resolving it is trust on first use)"
		}
		return r, fmt.Errorf("%w: %.200q names no digest: pin %s, e.g. %s@sha256:HEX", ErrReference, s, what, strings.TrimSuffix(s, ":"+tagOf(rest)))
	}
	r.Name, r.Digest = rest[:at], rest[at+1:]
	if !digestRE().MatchString(r.Digest) {
		return r, fmt.Errorf("%w: %.200q: the digest must be sha256:<64 lowercase hex>", ErrReference, s)
	}
	if r.Layout {
		if r.Name == "" {
			return r, fmt.Errorf("%w: %.200q names no layout directory", ErrReference, s)
		}
		return r, nil
	}
	// REPO:TAG@sha256:HEX names the digest; the tag says nothing more.
	if tag := tagOf(r.Name); tag != "" {
		r.Name = strings.TrimSuffix(r.Name, ":"+tag)
	}
	if _, err := name.NewRepository(r.Name); err != nil {
		return r, fmt.Errorf("%w: %.200q: %w", ErrReference, s, err)
	}
	return r, nil
}

// tagOf is the tag at the end of a name without a digest, or "".
func tagOf(s string) string {
	last := s[strings.LastIndex(s, "/")+1:]
	if i := strings.LastIndex(last, ":"); i >= 0 {
		return last[i+1:]
	}
	return ""
}

// String is the reference as ParseReference reads it.
func (r Reference) String() string {
	if r.Layout {
		return SchemeLayout + r.Name + "@" + r.Digest
	}
	return SchemeRegistry + r.Name + "@" + r.Digest
}
