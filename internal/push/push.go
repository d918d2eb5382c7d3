// Package push copies an OCI image archive (a tar holding an OCI image layout:
// oci-layout, index.json and blobs/, as scripts/images/*.sh write them) into a
// registry with go-containerregistry, byte for byte: the registry then serves the
// archive's manifest under the very digest the archive's index.json names, so a
// slsabox.yaml can pin REGISTRY/REPO@sha256:... to it.
//
// Registries on this machine (localhost, 127.0.0.1, ::1) are marked insecure and
// spoken to over plain HTTP; the others over HTTPS, except where go-containerregistry's
// own rule falls back to HTTP (RFC 1918 addresses, *.local names). No credentials are sent.
package push

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/slsabox/slsabox/internal/loopback"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Push uploads the first manifest (or index) listed in the archive's index.json to
// ref (REGISTRY/REPO[:TAG], or REGISTRY/REPO@sha256:... naming that same digest) and
// returns its digest, after checking that the registry serves it under that digest.
func Push(ctx context.Context, archive, ref string) (string, error) {
	r, err := ParseRef(ref)
	if err != nil {
		return "", err
	}
	a, err := Open(archive)
	if err != nil {
		return "", err
	}
	defer a.Close()
	desc := a.Desc
	if d, ok := r.(name.Digest); ok && d.DigestStr() != desc.Digest.String() {
		return "", fmt.Errorf("%s names %s, but the archive's manifest is %s", ref, d.DigestStr(), desc.Digest)
	}
	if desc.MediaType.IsIndex() {
		child, err := a.Index.ImageIndex(desc.Digest)
		if err != nil {
			return "", fmt.Errorf("%s: index %s: %w", archive, desc.Digest, err)
		}
		if err := remote.WriteIndex(r, child, remote.WithContext(ctx)); err != nil {
			return "", fmt.Errorf("pushing %s to %s: %w", archive, ref, err)
		}
		return verify(ctx, r, desc.Digest)
	}
	img, err := a.Image()
	if err != nil {
		return "", err
	}
	return WriteImage(ctx, img, r)
}

// WriteImage uploads img to r and returns its manifest digest, after checking that
// the registry serves it under that digest.
func WriteImage(ctx context.Context, img v1.Image, r name.Reference) (string, error) {
	want, err := img.Digest()
	if err != nil {
		return "", err
	}
	if err := remote.Write(r, img, remote.WithContext(ctx)); err != nil {
		return "", fmt.Errorf("pushing %s to %s: %w", want, r, err)
	}
	return verify(ctx, r, want)
}

// verify checks that the registry now serves the pushed bytes under their digest.
func verify(ctx context.Context, r name.Reference, want v1.Hash) (string, error) {
	got, err := remote.Head(r, remote.WithContext(ctx))
	if err != nil {
		return "", fmt.Errorf("checking %s after the push: %w", r, err)
	}
	if got.Digest != want {
		return "", fmt.Errorf("%s serves %s after the push, not the pushed %s", r, got.Digest, want)
	}
	return want.String(), nil
}

// Archive is an OCI image archive extracted to a temporary directory.
type Archive struct {
	Index v1.ImageIndex // the archive's index.json
	Desc  v1.Descriptor // its first entry: the image Push uploads
	dir   string
}

// Open extracts the archive and reads its index.json; Close removes the extracted copy.
func Open(archive string) (*Archive, error) {
	dir, err := os.MkdirTemp("", "slsabox-push-")
	if err != nil {
		return nil, err
	}
	a := &Archive{dir: dir}
	if err := a.read(archive); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

func (a *Archive) read(archive string) error {
	if err := extract(archive, a.dir); err != nil {
		return err
	}
	lp, err := layout.FromPath(a.dir)
	if err != nil {
		return fmt.Errorf("%s is not an OCI image layout: %w", archive, err)
	}
	if a.Index, err = lp.ImageIndex(); err != nil {
		return fmt.Errorf("%s: index.json: %w", archive, err)
	}
	im, err := a.Index.IndexManifest()
	if err != nil {
		return fmt.Errorf("%s: index.json: %w", archive, err)
	}
	if len(im.Manifests) == 0 {
		return fmt.Errorf("%s: index.json lists no manifest", archive)
	}
	a.Desc = im.Manifests[0]
	if !a.Desc.MediaType.IsImage() && !a.Desc.MediaType.IsIndex() {
		return fmt.Errorf("%s: index.json's first entry %s has media type %q, neither an image manifest nor an index", archive, a.Desc.Digest, a.Desc.MediaType)
	}
	return nil
}

// Image returns the image of the archive's first entry, which must be an image manifest.
// Its manifest and blobs are the archive's bytes until the archive is closed.
func (a *Archive) Image() (v1.Image, error) {
	if !a.Desc.MediaType.IsImage() {
		return nil, fmt.Errorf("the archive's first entry %s is %s, not an image manifest", a.Desc.Digest, a.Desc.MediaType)
	}
	img, err := a.Index.Image(a.Desc.Digest)
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", a.Desc.Digest, err)
	}
	return img, nil
}

// Close removes the extracted copy.
func (a *Archive) Close() error { return os.RemoveAll(a.dir) }

// ParseRef parses an image reference, marking registries on this machine insecure
// (plain HTTP) and leaving every other registry on HTTPS.
func ParseRef(ref string) (name.Reference, error) {
	r, err := name.ParseReference(ref) // REPO without a tag or digest means REPO:latest
	if err != nil {
		return nil, fmt.Errorf("image reference %q: %w", ref, err)
	}
	if loopback.Is(r.Context().RegistryStr()) {
		return name.ParseReference(ref, name.Insecure)
	}
	return r, nil
}

// extract unpacks the archive's directories and regular files into dir, refusing
// anything else (links, devices) and any name that would land outside dir.
func extract(archive, dir string) error {
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", archive, err)
		}
		clean := path.Clean(strings.TrimPrefix(h.Name, "./"))
		if clean == "." {
			continue
		}
		if path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
			return fmt.Errorf("%s: entry %q leaves the archive", archive, h.Name)
		}
		p := filepath.Join(dir, filepath.FromSlash(clean))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			out, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if err != nil {
				return fmt.Errorf("%s: %w", archive, err)
			}
			_, err = io.Copy(out, tr)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("extracting %s from %s: %w", h.Name, archive, err)
			}
		default:
			return fmt.Errorf("%s: entry %q is neither a file nor a directory", archive, h.Name)
		}
	}
}
