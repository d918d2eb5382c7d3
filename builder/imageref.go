package builder

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/distribution/reference"
	"github.com/slsabox/slsabox/internal/hint"
)

// ImageRef names a builder image by digest, either in a registry or in a local OCI archive.
type ImageRef struct {
	Raw     string // as written in slsabox.yaml
	Name    string // registry reference without the digest ("docker.io/library/golang:1.26"); empty for archives
	Archive string // absolute path of the OCI archive; empty for registry images
	Digest  string // "sha256:<64 hex>": the manifest (or index) digest
}

// digestRE is how slsabox.yaml must pin an image.
var digestRE = lazyRegexp(`^sha256:[0-9a-f]{64}$`)

// parseImageRef parses "NAME@sha256:HEX" or "oci-archive:PATH@sha256:HEX". A relative
// archive path is taken relative to baseDir (the directory holding slsabox.yaml).
func parseImageRef(s, baseDir string) (ImageRef, error) {
	ref := ImageRef{Raw: s}
	at := strings.LastIndex(s, "@")
	if at < 0 {
		return ref, hint.Wrap(fmt.Errorf("%w: image %q is not pinned by digest", ErrInvalidDefinition, s),
			"append the manifest digest, e.g. NAME@sha256:<64 hex> (slsabox image import prints it for archives)")
	}
	name, dgst := s[:at], s[at+1:]
	if !digestRE().MatchString(dgst) {
		return ref, hint.Wrap(fmt.Errorf("%w: image digest %q is not sha256:<64 lowercase hex>", ErrInvalidDefinition, dgst),
			"copy the digest exactly as the registry or slsabox image import prints it")
	}
	ref.Digest = dgst
	if rest, ok := strings.CutPrefix(name, "oci-archive:"); ok {
		if rest == "" {
			return ref, hint.Wrap(fmt.Errorf("%w: image %q names no archive file", ErrInvalidDefinition, s),
				"write oci-archive:PATH@sha256:<digest>")
		}
		if !filepath.IsAbs(rest) {
			rest = filepath.Join(baseDir, rest)
		}
		abs, err := filepath.Abs(rest)
		if err != nil {
			return ref, fmt.Errorf("%w: image archive path %q: %w", ErrInvalidDefinition, rest, err)
		}
		ref.Archive = abs
		return ref, nil
	}
	if name == "" || strings.ContainsAny(name, " \t") || strings.Contains(name, "://") {
		return ref, hint.Wrap(fmt.Errorf("%w: image name %s is not a registry reference", ErrInvalidDefinition, quoteToken(name)),
			"write REGISTRY/REPOSITORY[:TAG]@sha256:<digest>, e.g. docker.io/library/golang:1.26@sha256:...")
	}
	named, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		why := "" // the parser's own message quotes the whole name: say what is wrong in fixed words
		switch {
		case errors.Is(err, reference.ErrNameContainsUppercase):
			why = " (repository names are lowercase)"
		case errors.Is(err, reference.ErrNameTooLong):
			why = " (the name is too long)"
		case errors.Is(err, reference.ErrReferenceInvalidFormat), errors.Is(err, reference.ErrNameEmpty):
			why = " (invalid format)"
		}
		return ref, hint.Wrap(fmt.Errorf("%w: image name %s is not a registry reference%s", ErrInvalidDefinition, quoteToken(name), why),
			"write REGISTRY/REPOSITORY[:TAG]@sha256:<digest>, e.g. docker.io/library/golang:1.26@sha256:...")
	}
	ref.Name = named.String() // golang:1.26 -> docker.io/library/golang:1.26
	return ref, nil
}

// String returns the reference as it appears in provenance.
func (r ImageRef) String() string {
	if r.Archive != "" {
		return "oci-archive:" + r.Archive + "@" + r.Digest
	}
	return r.Name + "@" + r.Digest
}
