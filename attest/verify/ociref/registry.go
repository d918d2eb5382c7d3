package ociref

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// findInRegistry lists the referrers of the image through the registry's
// referrers API, or the referrers tag schema where it has none (remote.Referrers
// tries both), and fetches the bundle of each that announces one. A listing
// without an artifactType, or with the empty config's media type in its place (as
// registries that read the config's media type only list cosign's referrers, such
// as go-containerregistry's own), is fetched to see.
func findInRegistry(ctx context.Context, ref Reference, o options) ([]Bundle, error) {
	repo, err := name.NewRepository(ref.Name)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrReference, ref, err)
	}
	base := remote.DefaultTransport.(*http.Transport).Clone()
	puller, err := remote.NewPuller(
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(authn.DefaultKeychain),
		remote.WithTransport(guard{base: base, maxBody: o.maxBundle + maxManifestSize, registry: repo.RegistryStr()}),
		remote.WithUserAgent("slsabox"),
	)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	idx, err := remote.Referrers(repo.Digest(ref.Digest), remote.Reuse(puller), remote.WithContext(ctx))
	if err != nil {
		return nil, registryError(ref, "listing the referrers of", err)
	}
	list, err := idx.IndexManifest()
	if err != nil {
		return nil, registryError(ref, "reading the referrers of", err)
	}
	var bundles []Bundle
	for _, d := range list.Manifests {
		if len(bundles) >= maxReferrers {
			break
		}
		announced := isBundleReferrer(d.ArtifactType)
		if !announced && d.ArtifactType != "" && d.ArtifactType != mediaTypeEmpty {
			continue // a signature, an SBOM: another artifact of the image
		}
		source := ref.Name + "@" + d.Digest.String()
		b, err := fetchBundle(ctx, puller, repo.Digest(d.Digest.String()), ref.Digest, o.maxBundle)
		if isUnreachable(err) {
			return nil, registryError(ref, "fetching referrer "+d.Digest.String()+" of", err)
		}
		if !announced && errors.Is(err, errNotBundle) {
			continue
		}
		if err != nil {
			bundles = append(bundles, refused(source, err))
			continue
		}
		bundles = append(bundles, Bundle{Source: source, JSON: b})
	}
	return bundles, nil
}

// fetchBundle fetches the referrer manifest by digest (go-containerregistry checks
// the digest), checks that it refers to subject, and fetches its bundle layer.
func fetchBundle(ctx context.Context, p *remote.Puller, manifest name.Digest, subject string, maxBundle int64) ([]byte, error) {
	desc, err := p.Get(ctx, manifest)
	if err != nil {
		return nil, err
	}
	if len(desc.Manifest) > maxManifestSize {
		return nil, fmt.Errorf("%w: the manifest has %d bytes, more than %d", ErrRefused, len(desc.Manifest), maxManifestSize)
	}
	layer, err := checkReferrer(desc.Manifest, subject, maxBundle)
	if err != nil {
		return nil, err
	}
	l, err := p.Layer(ctx, manifest.Context().Digest(layer.Digest))
	if err != nil {
		return nil, err
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, layer.Size+1))
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	switch {
	case int64(len(data)) != layer.Size:
		return nil, fmt.Errorf("%w: its bundle layer has %s bytes, its descriptor says %d", ErrRefused, sizeWord(int64(len(data)), layer.Size), layer.Size)
	case "sha256:"+hex.EncodeToString(sum[:]) != layer.Digest:
		return nil, fmt.Errorf("%w: its bundle layer does not match its digest %s", ErrRefused, layer.Digest)
	}
	return bytes.Clone(data), nil
}

func sizeWord(n, want int64) string {
	if n > want {
		return fmt.Sprintf("more than %d", want)
	}
	return fmt.Sprint(n)
}

// isUnreachable tells a registry that cannot be asked (network, server errors,
// throttling, credentials) from one that answered about this referrer.
func isUnreachable(err error) bool {
	if err == nil || errors.Is(err, ErrRefused) || errors.Is(err, errBodyTooLarge) {
		return false
	}
	var te *transport.Error
	if errors.As(err, &te) {
		return te.StatusCode >= 500 || te.StatusCode == http.StatusTooManyRequests ||
			te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden
	}
	return !errors.Is(err, ErrReference) && (errors.Is(err, context.DeadlineExceeded) || isNetError(err))
}

func registryError(ref Reference, what string, err error) error {
	switch {
	case errors.Is(err, ErrReference):
		return err
	case errors.Is(err, errBodyTooLarge):
		return fmt.Errorf("%w: %s %s: %w", ErrRefused, what, ref, err)
	}
	return fmt.Errorf("%w: %s %s: %w", ErrUnreachable, what, ref, err)
}

func isNetError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne)
}
