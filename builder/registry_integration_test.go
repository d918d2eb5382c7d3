//go:build integration

package builder

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/slsabox/slsabox/internal/hint"
	"github.com/slsabox/slsabox/internal/push"
	"github.com/slsabox/slsabox/internal/testenv"
)

// registryNamespace is a containerd namespace of its own for the registry tests, so
// that the image is pulled from the registry and never found among the records the
// sandbox tests keep.
const registryNamespace = "slsabox-test-registry"

// newRegistryHarness is newHarness in registryNamespace, building with image.
func newRegistryHarness(t *testing.T, image string) *harness {
	t.Helper()
	addr := testenv.Containerd(t)
	log := &bytes.Buffer{}
	b, err := New(context.Background(), addr, WithStepOutput(&lockedWriter{w: log}), WithNamespace(registryNamespace))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return &harness{t: t, b: b, log: log, img: image}
}

// buildClean is h.build plus the checks assertClean makes by testNamespace's name
// (mounts and sandbox cgroups), made for registryNamespace.
func (h *harness) buildClean(ctx context.Context, dir string) (*Result, string, error) {
	h.t.Helper()
	res, out, err := h.build(ctx, dir)
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	for _, l := range strings.Split(string(mi), "\n") {
		if strings.Contains(l, "/"+registryNamespace+"/slsabox-") {
			h.t.Errorf("mount left behind: %s", l)
		}
	}
	matches, _ := filepath.Glob("/proc/[0-9]*/cgroup")
	for _, m := range matches {
		if b, err := os.ReadFile(m); err == nil && strings.Contains(string(b), "/"+registryNamespace+"/") {
			h.t.Errorf("sandbox process left running: %s", filepath.Base(filepath.Dir(m)))
		}
	}
	return res, out, err
}

// forgetImage deletes the image record for image in the harness's namespace and
// collects its content there, so that the next build must pull it again.
func (h *harness) forgetImage(image string) {
	h.t.Helper()
	ref, err := parseImageRef(image, "")
	if err != nil {
		h.t.Fatal(err)
	}
	err = h.b.c.ImageService().Delete(h.b.ctx(context.Background()), imageName(ref), images.SynchronousDelete())
	if err != nil && !errdefs.IsNotFound(err) {
		h.t.Fatalf("deleting image record %s: %v", imageName(ref), err)
	}
}

// imageRecorded reports whether containerd holds an image record for image, and its target.
func (h *harness) imageRecorded(image string) (string, bool) {
	h.t.Helper()
	ref, err := parseImageRef(image, "")
	if err != nil {
		h.t.Fatal(err)
	}
	img, err := h.b.c.ImageService().Get(h.b.ctx(context.Background()), imageName(ref))
	if errdefs.IsNotFound(err) {
		return "", false
	}
	if err != nil {
		h.t.Fatal(err)
	}
	return img.Target.Digest.String(), true
}

// TestRegistryPullByDigest pushes testbox.tar to the local registry (scripts/registry.sh)
// and builds with image: HOST/slsabox-test/testbox@sha256:..., which containerd pulls
// over plain HTTP; then with a digest the registry lacks, and with a registry that is
// not there.
func TestRegistryPullByDigest(t *testing.T) {
	reg := testenv.Registry(t)
	testenv.Image(t, "testbox.tar") // skips (fails in CI) when the archive is missing
	archive := filepath.Join(testenv.ImagesDir(t), "testbox.tar")
	want, err := testenv.ManifestDigest(archive)
	if err != nil {
		t.Fatal(err)
	}
	repo := reg + "/slsabox-test/testbox"
	ctx := context.Background()
	dgst, err := push.Push(ctx, archive, repo)
	if err != nil {
		t.Fatalf("pushing %s to %s: %v", archive, repo, err)
	}
	if dgst != want {
		t.Fatalf("pushed digest %s, the archive's index.json names %s", dgst, want)
	}
	image := repo + "@" + dgst
	h := newRegistryHarness(t, image)
	h.forgetImage(image)
	t.Cleanup(func() { h.forgetImage(image) })
	const steps = `  - name: write
    run: [sh, -c, "echo pulled > /out/x"]`

	t.Run("pinned digest", func(t *testing.T) {
		h.t, h.img = t, image
		if _, ok := h.imageRecorded(image); ok {
			t.Fatalf("containerd still holds %s: the build would not pull", image)
		}
		res, out, err := h.buildClean(ctx, h.project(steps, ""))
		if err != nil {
			t.Fatalf("build: %v\n%s", err, h.log)
		}
		if res.Image.Digest != dgst || res.Image.ManifestDigest != dgst {
			t.Errorf("image digest %s, manifest %s; want both %s", res.Image.Digest, res.Image.ManifestDigest, dgst)
		}
		if res.Image.Ref != image {
			t.Errorf("image ref %q, want %q", res.Image.Ref, image)
		}
		if b, err := os.ReadFile(filepath.Join(out, "x")); err != nil || string(b) != "pulled\n" {
			t.Errorf("/out/x = %q, %v", b, err)
		}
		if len(res.Subjects) != 1 || res.Subjects[0].Name != "x" {
			t.Errorf("subjects = %+v", res.Subjects)
		}
		if got, ok := h.imageRecorded(image); !ok || got != dgst {
			t.Errorf("after the pull containerd records %s -> %q (present %v), want %s", image, got, ok, dgst)
		}
	})

	// The blobs of testbox.tar are in containerd's content store already (other tests
	// imported the archive, and a namespace may adopt a blob it has), so the pull above
	// needed only the manifest from the registry. An image with a layer nobody has seen
	// must come whole from the registry, each blob checked against its digest.
	t.Run("new layer", func(t *testing.T) {
		nonce := "slsabox-registry-test-" + randomID()
		fresh := withFile(t, archive, "etc/slsabox-nonce", nonce+"\n")
		fd, err := fresh.Digest()
		if err != nil {
			t.Fatal(err)
		}
		cd, err := fresh.ConfigName()
		if err != nil {
			t.Fatal(err)
		}
		r, err := push.ParseRef(repo + "@" + fd.String())
		if err != nil {
			t.Fatal(err)
		}
		if d, err := push.WriteImage(ctx, fresh, r); err != nil || d != fd.String() {
			t.Fatalf("pushing the new image: %s, %v; want %s", d, err, fd)
		}
		img := repo + "@" + fd.String()
		t.Cleanup(func() { h.forgetImage(img) })
		h.t, h.img = t, img
		res, out, err := h.buildClean(ctx, h.project(`  - name: read
    run: [sh, -c, "cat /etc/slsabox-nonce > /out/x"]`, ""))
		if err != nil {
			t.Fatalf("build: %v\n%s", err, h.log)
		}
		if res.Image.Digest != fd.String() || res.Image.ConfigDigest != cd.String() {
			t.Errorf("image %s config %s, want %s config %s", res.Image.Digest, res.Image.ConfigDigest, fd, cd)
		}
		if b, err := os.ReadFile(filepath.Join(out, "x")); err != nil || string(b) != nonce+"\n" {
			t.Errorf("/out/x = %q, %v; want the new layer's %q", b, err, nonce)
		}
	})

	t.Run("digest the registry lacks", func(t *testing.T) {
		missing := fmt.Sprintf("sha256:%x", sha256.Sum256([]byte("slsabox: not in the registry "+randomID())))
		h.t, h.img = t, repo+"@"+missing
		_, out, err := h.buildClean(ctx, h.project(steps, ""))
		if !errors.Is(err, ErrImage) || errors.Is(err, ErrEnvironment) {
			t.Fatalf("err = %v, want ErrImage (not found) and not ErrEnvironment\n%s", err, h.log)
		}
		if !strings.Contains(err.Error(), missing) {
			t.Errorf("err = %q, want it to name %s", err, missing)
		}
		if hint.Of(err) == "" {
			t.Errorf("no hint for %v", err)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("a failed build published %s", out)
		}
		if _, ok := h.imageRecorded(h.img); ok {
			t.Errorf("a failed pull left an image record for %s", h.img)
		}
	})

	t.Run("registry not listening", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close() // nothing listens there now
		h.t, h.img = t, fmt.Sprintf("127.0.0.1:%d/slsabox-test/testbox@%s", port, dgst)
		_, out, err := h.buildClean(ctx, h.project(steps, ""))
		if !errors.Is(err, ErrEnvironment) || errors.Is(err, ErrImage) {
			t.Fatalf("err = %v, want ErrEnvironment and not ErrImage\n%s", err, h.log)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("a failed build published %s", out)
		}
		if _, ok := h.imageRecorded(h.img); ok {
			t.Errorf("a failed pull left an image record for %s", h.img)
		}
	})
}

// withFile returns the image of the OCI archive with one more layer holding the
// file at rel (no leading slash) with the given content.
func withFile(t *testing.T, archive, rel, content string) v1.Image {
	t.Helper()
	a, err := push.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() }) // the push reads the base's blobs from it
	base, err := a.Image()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: rel, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(tw, content); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil },
		tarball.WithMediaType(types.OCILayer))
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(base, layer)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
