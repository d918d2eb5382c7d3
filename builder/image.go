package builder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/containerd/v2/core/snapshots"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/identity"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/slsabox/slsabox/internal/hint"
)

// ResolvedImage is the builder image as the build used it.
type ResolvedImage struct {
	Ref            string   `json:"ref"`            // as written in slsabox.yaml (archive paths made absolute)
	Digest         string   `json:"digest"`         // the digest slsabox.yaml pins (manifest or index)
	ManifestDigest string   `json:"manifestDigest"` // the platform manifest that ran
	ConfigDigest   string   `json:"configDigest"`   // its config blob
	Env            []string `json:"-"`              // the image config's environment
	Platform       string   `json:"platform"`       // e.g. linux/amd64
	snapshotParent string   // committed snapshot that step views are made from
}

// mountpoints are the directories the sandbox mounts onto (ours and the OCI default
// spec's /proc, /dev, /sys, /run). A read-only view cannot grow them, so a thin
// committed layer adds the ones an image lacks.
var mountpoints = []struct {
	path string
	mode os.FileMode
}{{"src", 0o755}, {"out", 0o755}, {"inputs", 0o755}, {"tmp", 0o1777 | os.ModeSticky}, {"proc", 0o555}, {"dev", 0o755}, {"sys", 0o555}, {"run", 0o755}}

// imageName is the containerd image record slsabox keeps for a pinned digest.
func imageName(ref ImageRef) string {
	if ref.Archive != "" {
		return "slsabox.local/oci-archive@" + ref.Digest
	}
	return ref.Name + "@" + ref.Digest
}

// resolveImage makes the image named by ref available, unpacked, in containerd and
// returns what the provenance records about it. Registry images are pulled by digest
// (containerd verifies every blob); archives are imported, and their manifest or index
// digest must equal the pinned one. lk, when not nil, is taken before any slow work
// (see imageLock) and released on return.
func resolveImage(ctx context.Context, c *containerd.Client, ref ImageRef, snapshotter string, lk *imageLock) (*ResolvedImage, error) {
	is := c.ImageService()
	name := imageName(ref)
	defer lk.unlock()
	img, err := is.Get(ctx, name)
	if errdefs.IsNotFound(err) {
		// Another build may be bringing it in: wait for it, then look again.
		if _, lerr := lk.lock(ctx); lerr != nil {
			return nil, lerr
		}
		img, err = is.Get(ctx, name)
	}
	switch {
	case err == nil && img.Target.Digest.String() == ref.Digest:
		// Already here: content is addressed by digest, so it is the same image.
	case err != nil && !errdefs.IsNotFound(err):
		return nil, fmt.Errorf("%w: looking up image %s: %w", ErrEnvironment, name, err)
	case ref.Archive != "":
		if img, err = importPinned(ctx, c, ref); err != nil {
			return nil, err
		}
	default:
		// Registries on this machine (localhost, 127.0.0.1, ::1) are spoken to over plain
		// HTTP, as Docker does; every other registry over HTTPS. The digest pins the
		// content either way: containerd checks every blob it fetches.
		resolver := docker.NewResolver(docker.ResolverOptions{
			Hosts: docker.ConfigureDefaultRegistries(docker.WithPlainHTTP(docker.MatchLocalhost)),
		})
		pulled, err := c.Pull(ctx, name, containerd.WithPullSnapshotter(snapshotter), containerd.WithResolver(resolver))
		if err != nil {
			class := ErrEnvironment // unreachable registry: try again
			if errdefs.IsNotFound(err) {
				class = ErrImage
			}
			return nil, hint.Wrapf(fmt.Errorf("%w: pulling %s: %w", class, name, err),
				"check the registry is reachable and the digest exists; offline, build an OCI archive and use image: oci-archive:PATH@sha256:...")
		}
		img = pulled.Metadata()
	}
	if img.Target.Digest.String() != ref.Digest {
		return nil, fmt.Errorf("%w: image %s resolved to %s, not the pinned %s", ErrImage, ref.Raw, img.Target.Digest, ref.Digest)
	}

	platform := platforms.Default()
	cs := c.ContentStore()
	// One read of each blob: index (if any), platform manifest, config.
	mdesc, manifest, err := platformManifest(ctx, cs, img.Target, platform, 0)
	if err != nil {
		return nil, hint.Wrapf(fmt.Errorf("%w: image %s has no manifest for %s: %w", ErrImage, ref.Raw, platforms.Format(platforms.DefaultSpec()), err),
			"use an image built for this machine's platform")
	}
	cfg, err := readConfig(ctx, cs, manifest.Config)
	if err != nil {
		return nil, err
	}
	if cfg.OS != "" && cfg.OS != "linux" {
		return nil, fmt.Errorf("%w: image %s is for %s, not linux", ErrImage, ref.Raw, cfg.OS)
	}
	if len(cfg.RootFS.DiffIDs) == 0 || len(cfg.RootFS.DiffIDs) != len(manifest.Layers) {
		return nil, fmt.Errorf("%w: image %s: its config lists %d layers, its manifest %d", ErrImage, ref.Raw, len(cfg.RootFS.DiffIDs), len(manifest.Layers))
	}
	res := &ResolvedImage{
		Ref:            ref.String(),
		Digest:         ref.Digest,
		ManifestDigest: mdesc.Digest.String(),
		ConfigDigest:   manifest.Config.Digest.String(),
		Env:            cfg.Config.Env,
		Platform:       platforms.Format(platforms.DefaultSpec()),
	}
	unpack := func() error {
		cimg := containerd.NewImageWithPlatform(c, img, platform)
		if ok, err := cimg.IsUnpacked(ctx, snapshotter); err == nil && ok {
			return nil
		}
		if err := cimg.Unpack(ctx, snapshotter); err != nil {
			return fmt.Errorf("%w: unpacking image %s: %w", ErrEnvironment, ref.Raw, err)
		}
		return nil
	}
	res.snapshotParent, err = mountpointLayer(ctx, c, snapshotter, identity.ChainID(cfg.RootFS.DiffIDs).String(), unpack, lk)
	return res, err
}

// platformManifest returns the descriptor and content of the manifest for platform
// under target (a manifest, or an index, nested at most twice).
func platformManifest(ctx context.Context, cs content.Store, target ocispec.Descriptor, platform platforms.MatchComparer, depth int) (ocispec.Descriptor, ocispec.Manifest, error) {
	b, err := content.ReadBlob(ctx, cs, target)
	if err != nil {
		return ocispec.Descriptor{}, ocispec.Manifest{}, err
	}
	switch {
	case images.IsManifestType(target.MediaType):
		var m ocispec.Manifest
		if err := json.Unmarshal(b, &m); err != nil {
			return ocispec.Descriptor{}, ocispec.Manifest{}, fmt.Errorf("manifest %s: %w", target.Digest, err)
		}
		return target, m, nil
	case images.IsIndexType(target.MediaType) && depth < 2:
		var idx ocispec.Index
		if err := json.Unmarshal(b, &idx); err != nil {
			return ocispec.Descriptor{}, ocispec.Manifest{}, fmt.Errorf("index %s: %w", target.Digest, err)
		}
		var best *ocispec.Descriptor
		for i, d := range idx.Manifests {
			if d.Platform != nil && !platform.Match(*d.Platform) {
				continue
			}
			if !images.IsManifestType(d.MediaType) && !images.IsIndexType(d.MediaType) {
				continue
			}
			if best == nil || (d.Platform != nil && best.Platform != nil && platform.Less(*d.Platform, *best.Platform)) {
				best = &idx.Manifests[i]
			}
		}
		if best == nil {
			return ocispec.Descriptor{}, ocispec.Manifest{}, fmt.Errorf("index %s lists no manifest for this platform", target.Digest)
		}
		return platformManifest(ctx, cs, *best, platform, depth+1)
	}
	return ocispec.Descriptor{}, ocispec.Manifest{}, fmt.Errorf("%s has media type %q, not a manifest or index", target.Digest, target.MediaType)
}

// importPinned imports the archive, then checks it held the pinned manifest or index.
func importPinned(ctx context.Context, c *containerd.Client, ref ImageRef) (images.Image, error) {
	// The path comes from slsabox.yaml: a FIFO or a device there must not hang the build,
	// and the kernel's pseudo-files (regular files to stat, /proc/kcore among them) are
	// no image archive, wherever a symlink points.
	if pseudo := kernelPseudoFile(ref.Archive); pseudo != "" {
		return images.Image{}, hint.Wrapf(fmt.Errorf("%w: image archive %s is under %s", ErrImage, ref.Archive, pseudo),
			"the oci-archive: path in slsabox.yaml must name an OCI image archive file")
	}
	f, err := os.OpenFile(ref.Archive, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return images.Image{}, hint.Wrapf(fmt.Errorf("%w: opening image archive: %w", ErrImage, err),
			"build the archive first (scripts/images/*.sh) or fix the oci-archive: path in slsabox.yaml")
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return images.Image{}, hint.Wrapf(fmt.Errorf("%w: image archive %s %w", ErrImage, ref.Archive, errNotRegular),
			"the oci-archive: path in slsabox.yaml must name an OCI image archive file")
	}
	opts := []containerd.ImportOpt{containerd.WithDigestRef(func(d digestT) string { return "slsabox.local/oci-archive@" + d.String() }),
		containerd.WithSkipDigestRef(func(string) bool { return false })}
	imgs, err := c.Import(ctx, f, opts...)
	if errdefs.IsAlreadyExists(err) {
		// containerd's client updates the image record and creates it if that found
		// none: another import (slsabox image import, ctr) may create it in between.
		// Another try finds it and updates it.
		if _, serr := f.Seek(0, io.SeekStart); serr == nil {
			imgs, err = c.Import(ctx, f, opts...)
		}
	}
	if err != nil {
		return images.Image{}, hint.Wrapf(fmt.Errorf("%w: importing %s: %w", ErrImage, ref.Archive, err),
			"the file must be an OCI image archive (a tar with oci-layout and index.json)")
	}
	want := ref.Digest
	var found []string
	for _, img := range imgs {
		if img.Target.Digest.String() == want {
			return pinRecord(ctx, c, ref, img.Target)
		}
		found = append(found, img.Target.Digest.String())
	}
	// The pinned digest may also be the archive's index, or a manifest the index lists.
	if info, err := c.ContentStore().Info(ctx, digestOf(want)); err == nil {
		desc := ocispec.Descriptor{Digest: info.Digest, Size: info.Size}
		if mt, ok := sniffMediaType(ctx, c.ContentStore(), desc); ok {
			desc.MediaType = mt
			return pinRecord(ctx, c, ref, desc)
		}
	}
	return images.Image{}, hint.Wrapf(fmt.Errorf("%w: %s does not hold the pinned image %s (it holds %s)", ErrImage, ref.Archive, want, strings.Join(found, ", ")),
		"rebuild the archive or update the digest in slsabox.yaml to the one slsabox image import prints")
}

// pinRecord keeps an image record named for the pinned digest, so later builds skip the import.
func pinRecord(ctx context.Context, c *containerd.Client, ref ImageRef, target ocispec.Descriptor) (images.Image, error) {
	rec := images.Image{Name: imageName(ref), Target: target}
	if _, err := c.ImageService().Create(ctx, rec); err != nil {
		if !errdefs.IsAlreadyExists(err) {
			return images.Image{}, fmt.Errorf("%w: recording image: %w", ErrEnvironment, err)
		}
		if _, err := c.ImageService().Update(ctx, rec, "target"); err != nil {
			return images.Image{}, fmt.Errorf("%w: recording image: %w", ErrEnvironment, err)
		}
	}
	return rec, nil
}

func sniffMediaType(ctx context.Context, cs content.Store, desc ocispec.Descriptor) (string, bool) {
	b, err := content.ReadBlob(ctx, cs, desc)
	if err != nil {
		return "", false
	}
	var probe struct {
		MediaType string            `json:"mediaType"`
		Manifests []json.RawMessage `json:"manifests"`
		Config    json.RawMessage   `json:"config"`
	}
	if json.Unmarshal(b, &probe) != nil {
		return "", false
	}
	switch {
	case probe.MediaType != "":
		return probe.MediaType, true
	case probe.Manifests != nil:
		return ocispec.MediaTypeImageIndex, true
	case probe.Config != nil:
		return ocispec.MediaTypeImageManifest, true
	}
	return "", false
}

func readConfig(ctx context.Context, cs content.Store, desc ocispec.Descriptor) (*ocispec.Image, error) {
	b, err := content.ReadBlob(ctx, cs, desc)
	if err != nil {
		return nil, fmt.Errorf("%w: reading image config: %w", ErrImage, err)
	}
	var cfg ocispec.Image
	if err := json.Unmarshal(b, &cfg); err != nil {
		return nil, fmt.Errorf("%w: image config is not valid JSON: %w", ErrImage, err)
	}
	return &cfg, nil
}

// mountpointLayer returns a committed snapshot on top of the image's chain that has
// every sandbox mountpoint, creating it once per image and daemon (under lk).
func mountpointLayer(ctx context.Context, c *containerd.Client, snapshotter, chainID string, unpack func() error, lk *imageLock) (string, error) {
	sn := c.SnapshotService(snapshotter)
	name := "slsabox/mountpoints/" + chainID
	// Nothing else references this snapshot, so containerd's garbage collector may take
	// it at any time; the build's lease holds it for the build.
	hold := func() error {
		lid, ok := leases.FromContext(ctx)
		if !ok {
			return nil
		}
		err := c.LeasesService().AddResource(ctx, leases.Lease{ID: lid}, leases.Resource{ID: name, Type: "snapshots/" + snapshotter})
		if err != nil {
			return fmt.Errorf("%w: holding the mountpoint layer: %w", ErrEnvironment, err)
		}
		return nil
	}
	if err := hold(); err != nil {
		return "", err
	}
	if _, err := sn.Stat(ctx, name); err == nil {
		return name, nil // its parent, the image's chain, is there too
	}
	if took, err := lk.lock(ctx); err != nil {
		return "", err
	} else if took {
		if _, err := sn.Stat(ctx, name); err == nil {
			return name, nil // made by the build that held the lock
		}
	}
	if err := unpack(); err != nil {
		return "", err
	}
	key := name + "/prepare-" + randomID()
	mounts, err := sn.Prepare(ctx, key, chainID, snapshots.WithLabels(map[string]string{labelCache: "mountpoints"}))
	if err != nil {
		return "", fmt.Errorf("%w: preparing mountpoint layer: %w", ErrEnvironment, err)
	}
	defer sn.Remove(context.WithoutCancel(ctx), key) //nolint:errcheck // gone after a successful commit
	dir, err := os.MkdirTemp("", "slsabox-mnt-")
	if err != nil {
		return "", fmt.Errorf("%w: mountpoint layer: %w", ErrEnvironment, err)
	}
	defer os.Remove(dir)
	if err := mount.All(mounts, dir); err != nil {
		return "", fmt.Errorf("%w: mounting mountpoint layer: %w", ErrEnvironment, err)
	}
	var mkErr error
	for _, mp := range mountpoints {
		p := filepath.Join(dir, mp.path)
		fi, err := os.Lstat(p)
		switch {
		case err == nil && fi.IsDir():
			continue
		case err == nil:
			mkErr = fmt.Errorf("%w: image has /%s, but not as a directory", ErrImage, mp.path)
		case errors.Is(err, os.ErrNotExist):
			err := os.Mkdir(p, mp.mode)
			if err == nil {
				err = os.Chmod(p, mp.mode) // Mkdir obeys the umask
			}
			mkErr = errors.Join(mkErr, err)
		default:
			mkErr = errors.Join(mkErr, err)
		}
	}
	if err := mount.UnmountAll(dir, 0); err != nil {
		return "", fmt.Errorf("%w: unmounting mountpoint layer: %w", ErrEnvironment, err)
	}
	if mkErr != nil {
		return "", fmt.Errorf("making sandbox mountpoints: %w", mkErr)
	}
	// A GC root: kept across builds (it is a few empty directories), so that a build
	// does not rebuild it; slsabox sweep leaves it alone.
	if err := sn.Commit(ctx, name, key, snapshots.WithLabels(map[string]string{labelCache: "mountpoints", "containerd.io/gc.root": "mountpoints"})); err != nil && !errdefs.IsAlreadyExists(err) {
		return "", fmt.Errorf("%w: committing mountpoint layer: %w", ErrEnvironment, err)
	}
	return name, nil
}

type digestT = digest.Digest

func digestOf(s string) digest.Digest { return digest.Digest(s) }

// ImportedImage is an image found in an OCI archive.
type ImportedImage struct {
	Name   string // the archive's ref name annotation, if any
	Digest string // manifest or index digest: what slsabox.yaml pins
}

// ImportImage imports every image of the OCI archive at file into containerd, unpacks
// the ones for this platform, and returns their digests for slsabox.yaml.
func (b *Builder) ImportImage(ctx context.Context, file string) ([]ImportedImage, error) {
	ctx = b.ctx(ctx)
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidInput, err)
	}
	f, err := os.Open(abs)
	if err != nil {
		return nil, hint.Wrapf(fmt.Errorf("%w: opening image archive: %w", ErrInvalidInput, err), "name an OCI image archive (a tar with oci-layout and index.json)")
	}
	defer f.Close()
	ctx, done, err := b.c.WithLease(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: creating a lease: %w", ErrEnvironment, err)
	}
	defer done(context.WithoutCancel(ctx)) //nolint:errcheck // the lease expires on its own
	imgs, err := b.c.Import(ctx, f, containerd.WithSkipDigestRef(func(string) bool { return true }))
	if err != nil {
		return nil, hint.Wrapf(fmt.Errorf("%w: importing %s: %w", ErrInvalidInput, file, err), "the file must be an OCI image archive (a tar with oci-layout and index.json)")
	}
	if len(imgs) == 0 {
		return nil, hint.Wrapf(fmt.Errorf("%w: %s names no image", ErrImage, file), "give the archive's manifests an org.opencontainers.image.ref.name annotation")
	}
	var out []ImportedImage
	for _, img := range imgs {
		ref := ImageRef{Raw: "oci-archive:" + abs + "@" + img.Target.Digest.String(), Archive: abs, Digest: img.Target.Digest.String()}
		if _, err := pinRecord(ctx, b.c, ref, img.Target); err != nil {
			return nil, err
		}
		cimg := containerd.NewImage(b.c, img)
		if err := cimg.Unpack(ctx, b.cfg.snapshotter); err != nil {
			return nil, fmt.Errorf("%w: unpacking %s: %w", ErrEnvironment, img.Name, err)
		}
		out = append(out, ImportedImage{Name: img.Name, Digest: img.Target.Digest.String()})
	}
	return out, nil
}

// kernelPseudoFile returns "/proc", "/sys" or "/dev" when path, with its symlinks
// resolved, lies under one of them, and "" otherwise.
func kernelPseudoFile(path string) string {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return ""
	}
	for _, pseudo := range []string{"/proc", "/sys", "/dev"} {
		if real == pseudo || strings.HasPrefix(real, pseudo+"/") {
			return pseudo
		}
	}
	return ""
}
