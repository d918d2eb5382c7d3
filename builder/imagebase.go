package builder

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/slsabox/slsabox/internal/hint"
	"github.com/slsabox/slsabox/internal/ocilayout"
)

// maxBaseArchive bounds what is extracted of a base image archive.
const maxBaseArchive = 16 << 30

var blobNameRE = lazyRegexp(`^blobs/sha256/[0-9a-f]{64}$`)

// loadBase extracts the OCI archive of ref into dir (or downloads a registry image
// there, fetchBase), checks every blob reachable from the pinned digest
// (internal/ocilayout: present, right size, right sha256), and returns the image for
// platform: the pinned manifest itself, or the one an index lists for platform.
func loadBase(ctx context.Context, ref ImageRef, platform Platform, dir string) (v1.Image, error) {
	what := "base image " + ref.Raw
	bad := func(format string, args ...any) error {
		return hint.Wrapf(fmt.Errorf("%w: %s: %s", ErrImageRejected, what, fmt.Sprintf(format, args...)),
			"base: must name an image pinned by digest: REGISTRY/REPO@sha256:..., or oci-archive:PATH@sha256:... for an OCI image archive (oci-layout, index.json, blobs/sha256/...) that holds it")
	}
	want := ref.Digest
	if ref.Archive == "" {
		d, err := fetchBase(ctx, ref, platform, dir)
		if err != nil {
			return nil, err
		}
		want = d
	} else if err := extractBase(ref, dir, bad); err != nil {
		return nil, err
	}
	l, err := ocilayout.Open(dir, ocilayout.Limits{TotalSize: maxBaseArchive})
	if err != nil {
		return nil, bad("%v", err)
	}
	l.Close()

	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, bad("%v", err)
	}
	top, err := p.ImageIndex()
	if err != nil {
		return nil, bad("%v", err)
	}
	h, err := v1.NewHash(want)
	if err != nil {
		return nil, bad("%v", err)
	}
	return baseImage(top, h, l.Image.MediaType, platform, bad)
}

// extractBase extracts the OCI archive of ref into dir and rewrites its index.json to
// name only the pinned digest, so that the check starts there.
func extractBase(ref ImageRef, dir string, bad func(string, ...any) error) error {
	what := "base image " + ref.Raw
	if pseudo := kernelPseudoFile(ref.Archive); pseudo != "" {
		return bad("the archive is under %s", pseudo)
	}
	f, err := os.OpenFile(ref.Archive, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return bad("%v", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return bad("the archive is not a regular file")
	}
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o700); err != nil {
		return fmt.Errorf("%w: %w", ErrEnvironment, err)
	}
	if err := extractLayout(f, dir); err != nil {
		var env *envErr
		if errors.As(err, &env) {
			return fmt.Errorf("%w: extracting %s: %w", ErrEnvironment, what, env.err)
		}
		return bad("%v", err)
	}

	// index.json is rewritten to name only the pinned digest, so that the check starts there.
	data, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		return bad("no index.json")
	}
	var idx struct {
		Manifests []json.RawMessage `json:"manifests"`
	}
	if err := json.Unmarshal(data, &idx); err != nil {
		return bad("index.json does not parse: %v", err)
	}
	var pinned json.RawMessage
	for _, m := range idx.Manifests {
		var d struct{ Digest string }
		if json.Unmarshal(m, &d) == nil && d.Digest == ref.Digest {
			pinned = m
		}
	}
	if pinned == nil {
		return bad("its index.json does not list %s", ref.Digest)
	}
	data, _ = json.Marshal(map[string]any{"schemaVersion": 2, "manifests": []json.RawMessage{pinned}})
	if err := os.WriteFile(filepath.Join(dir, "index.json"), data, 0o600); err != nil {
		return fmt.Errorf("%w: %w", ErrEnvironment, err)
	}
	return nil
}

// baseImage returns the image h names in the checked layout top: h itself, or the
// manifest for platform that the index h lists.
func baseImage(top v1.ImageIndex, h v1.Hash, mediaType string, platform Platform, bad func(string, ...any) error) (v1.Image, error) {
	var img v1.Image
	var err error
	if mediaType == ocilayout.MediaTypeOCIIndex || mediaType == ocilayout.MediaTypeDockerList {
		ii, err := top.ImageIndex(h)
		if err != nil {
			return nil, bad("%v", err)
		}
		im, err := ii.IndexManifest()
		if err != nil {
			return nil, bad("%v", err)
		}
		for _, m := range im.Manifests {
			if m.Platform != nil && m.Platform.OS == platform.OS && m.Platform.Architecture == platform.Architecture &&
				(platform.Variant == "" || m.Platform.Variant == platform.Variant) {
				img, err = ii.Image(m.Digest)
				if err != nil {
					return nil, bad("%v", err)
				}
				break
			}
		}
		if img == nil {
			return nil, bad("its index has no manifest for %s", platform)
		}
	} else if img, err = top.Image(h); err != nil {
		return nil, bad("%v", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, bad("its config: %v", err)
	}
	if cfg.OS != platform.OS || cfg.Architecture != platform.Architecture {
		return nil, bad("it is %s/%s, the image is for %s", cfg.OS, cfg.Architecture, platform)
	}
	return img, nil
}

// envErr marks a failure of this machine while extracting.
type envErr struct{ err error }

func (e *envErr) Error() string { return e.err.Error() }

// extractLayout writes the layout files of the OCI archive r into dir: oci-layout,
// index.json and blobs/sha256/<hex>, regular files only; every other entry is
// skipped, never written.
func extractLayout(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	var total int64
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("not a tar archive: %w", err)
		}
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		if name != "oci-layout" && name != "index.json" && !blobNameRE().MatchString(name) {
			continue
		}
		if h.Typeflag != tar.TypeReg {
			return fmt.Errorf("%s in the archive is not a regular file", name)
		}
		if total += h.Size; h.Size < 0 || total > maxBaseArchive {
			return fmt.Errorf("the archive holds more than %s", formatSize(maxBaseArchive))
		}
		out, err := os.OpenFile(filepath.Join(dir, filepath.FromSlash(name)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s appears twice in the archive", name)
		}
		if err != nil {
			return &envErr{err}
		}
		_, err = io.Copy(out, tr)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return &envErr{err}
		}
	}
}

// onBase puts the single layer of the files-only image in filesDir on top of base,
// applies img's config, and writes the result as an OCI layout into dir.
func onBase(base v1.Image, filesDir string, img OutputImage, epoch int64, dir string) error {
	p, err := layout.FromPath(filesDir)
	if err != nil {
		return err
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return err
	}
	im, err := idx.IndexManifest()
	if err != nil || len(im.Manifests) != 1 {
		return fmt.Errorf("the files' image: %v", err)
	}
	files, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		return err
	}
	layers, err := files.Layers()
	if err != nil {
		return err
	}
	created := v1.Time{Time: time.Unix(epoch, 0).UTC()}
	out := base
	for _, l := range layers {
		out, err = mutate.Append(out, mutate.Addendum{Layer: l, History: v1.History{Created: created, CreatedBy: "slsabox: files of " + img.Name}})
		if err != nil {
			return err
		}
	}
	cf, err := out.ConfigFile()
	if err != nil {
		return err
	}
	cf = cf.DeepCopy()
	cf.Created = created
	c := &cf.Config
	if img.Entrypoint != nil {
		c.Entrypoint, c.Cmd = img.Entrypoint, img.Cmd // as in a Dockerfile, a new entrypoint drops the base's cmd
	} else if img.Cmd != nil {
		c.Cmd = img.Cmd
	}
	for _, e := range img.Env {
		c.Env = setEnv(c.Env, e.Name, e.Value)
	}
	if img.User != "" {
		c.User = img.User
	}
	if img.WorkDir != "" {
		c.WorkingDir = img.WorkDir
	}
	if len(img.Labels) > 0 && c.Labels == nil {
		c.Labels = map[string]string{}
	}
	for k, v := range img.Labels {
		c.Labels[k] = v
	}
	if out, err = mutate.ConfigFile(out, cf); err != nil {
		return err
	}
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	return lp.AppendImage(out)
}
