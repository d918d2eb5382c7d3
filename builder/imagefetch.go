package builder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/slsabox/slsabox/internal/hint"
	"github.com/slsabox/slsabox/internal/loopback"
)

// fetchBase downloads the base image ref (REGISTRY/REPO@sha256:D) into dir as an OCI
// layout, and returns the digest of the image to build on: D when it is a manifest,
// else the manifest the index D lists for platform (only that one is downloaded).
// go-containerregistry checks every blob it fetches by digest against that digest, and
// loadBase then checks the layout again. Plain HTTP only to registries on loopback.
//
// The commit names the registry, so the download is anonymous (as builder images are
// pulled: root's credentials would let a commit copy a private image into its output),
// bounded in time (baseFetchTimeout, and each response must start within a minute)
// and in size: the manifest's declared sizes are added up before any layer is fetched.
func fetchBase(ctx context.Context, ref ImageRef, platform Platform, dir string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, baseFetchTimeout)
	defer cancel()
	what := "base image " + ref.Raw
	named := ref.Name + "@" + ref.Digest
	var opts []name.Option
	if r, err := name.ParseReference(named); err == nil && loopback.Is(r.Context().RegistryStr()) {
		opts = append(opts, name.Insecure)
	}
	r, err := name.ParseReference(named, opts...)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrImageRejected, what, err)
	}
	tr := remote.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = time.Minute
	ropts := []remote.Option{remote.WithContext(ctx), remote.WithAuth(authn.Anonymous),
		remote.WithTransport(loopback.HTTPSUnless(tr, r.Context().RegistryStr()))}
	desc, err := remote.Get(r, ropts...)
	if err != nil {
		return "", fetchError(ctx, what, err)
	}
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrEnvironment, err)
	}
	var img v1.Image
	pinned := v1.Descriptor{MediaType: desc.MediaType, Size: desc.Size, Digest: desc.Digest}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return "", fetchError(ctx, what, err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return "", fmt.Errorf("%w: %s: its index: %w", ErrImageRejected, what, err)
		}
		for _, m := range im.Manifests {
			if m.Platform != nil && m.Platform.OS == platform.OS && m.Platform.Architecture == platform.Architecture &&
				(platform.Variant == "" || m.Platform.Variant == platform.Variant) {
				pinned = m
				break
			}
		}
		if pinned.Digest == desc.Digest {
			return "", hint.Wrapf(fmt.Errorf("%w: %s: its index has no manifest for %s", ErrImageRejected, what, platform),
				"pin a base that is built for %s", platform)
		}
		if img, err = idx.Image(pinned.Digest); err != nil {
			return "", fetchError(ctx, what, err)
		}
	} else if img, err = desc.Image(); err != nil {
		return "", fetchError(ctx, what, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return "", fetchError(ctx, what, err)
	}
	size := m.Config.Size
	for _, l := range m.Layers {
		if l.Size < 0 || size > maxBaseArchive-l.Size {
			return "", hint.Wrapf(fmt.Errorf("%w: %s declares more than %s of layers", ErrImageRejected, what, formatSize(maxBaseArchive)),
				"use a smaller base")
		}
		size += l.Size
	}
	if len(m.Layers) > 1000 {
		return "", fmt.Errorf("%w: %s has %d layers", ErrImageRejected, what, len(m.Layers))
	}
	if err := lp.WriteImage(img); err != nil {
		return "", fetchError(ctx, what, err)
	}
	data, err := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: "application/vnd.oci.image.index.v1+json", Manifests: []v1.Descriptor{pinned}})
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "index.json"), data, 0o600); err != nil {
		return "", fmt.Errorf("%w: %w", ErrEnvironment, err)
	}
	return pinned.Digest.String(), nil
}

// baseFetchTimeout bounds the download of a registry base.
const baseFetchTimeout = 30 * time.Minute

// fetchError classes a failed download: the registry's answer about the image (it is
// not there, or not what was pinned) is the definition's problem (exit 2); anything
// on the way (network, the registry's own errors, credentials) may pass (exit 3).
func fetchError(ctx context.Context, what string, err error) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("%w: fetching %s", ErrInterrupted, what)
	}
	var terr *transport.Error
	var nerr net.Error
	switch {
	case errors.As(err, &terr) && (terr.StatusCode == 404 || terr.StatusCode == 400):
		return hint.Wrap(fmt.Errorf("%w: %s: the registry has no such image: %w", ErrImageRejected, what, err),
			"check the name and the digest; the registry must serve NAME@sha256:DIGEST")
	case errors.As(err, &terr), errors.As(err, &nerr), errors.Is(err, context.DeadlineExceeded):
		return hint.Wrap(fmt.Errorf("%w: fetching %s: %w", ErrEnvironment, what, err),
			"check that the registry is reachable; a base is fetched without credentials: for a private one, or offline, save it into an archive and write base: oci-archive:PATH@sha256:...")
	default:
		return fmt.Errorf("%w: %s: %w", ErrImageRejected, what, err)
	}
}
