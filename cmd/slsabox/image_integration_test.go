//go:build integration

package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/opencontainers/go-digest"

	"github.com/slsabox/slsabox/internal/push"
	"github.com/slsabox/slsabox/internal/testenv"
)

// TestHelloImage builds examples/hello-image (the source of examples/hello-go, the
// image definition of examples/hello-image) twice: both builds give the same image
// digest, the signed provenance names the image by that digest, and the OCI layout in
// OUT, imported into containerd and run, prints the greeting.
func TestHelloImage(t *testing.T) {
	addr := testenv.Containerd(t)
	dir := helloImageSource(t)
	key := keygen(t)
	out1, out2 := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	r1 := buildJSON(t, dir, out1, "--key", key+".key", "--no-tlog")
	r2 := buildJSON(t, dir, out2, "--unsigned")
	if len(r1.Images) != 1 || len(r2.Images) != 1 {
		t.Fatalf("images: %+v, %+v", r1.Images, r2.Images)
	}
	im := r1.Images[0]
	if im.Name != "registry.example.com/slsabox/hello" || im.Digest != r2.Images[0].Digest {
		t.Fatalf("two builds, two images: %+v, %+v", im, r2.Images[0])
	}
	if len(r1.Subjects) != 0 {
		t.Errorf("file subjects %+v, want none (images only)", r1.Subjects)
	}
	if b := im.Binaries; len(b) != 1 || b[0].Path != "/hello" || b[0].Go == nil || b[0].Go.Package != "example.com/hello-go/cmd/hello" {
		t.Errorf("the image's Go binaries: %+v, want /hello with its build info", b)
	}
	if got := statementSubjects(t, filepath.Join(out1, "provenance.sigstore.json")); got[im.Name] != im.SHA256() || len(got) != 1 {
		t.Errorf("provenance subjects %v, want %s: %s", got, im.Name, im.SHA256())
	}
	// The SBOM of the image lists the Go binary inside it with its modules.
	sbomBundle := filepath.Join(out1, "sbom.sigstore.json")
	validateSBOMs(t, sbomBundle)
	if stdout, stderr, code := slsabox(t, "sbom", "show", sbomBundle); code != 0 || !strings.Contains(stdout, "contained in "+im.Name+" > /hello") {
		t.Errorf("sbom show of the image's SBOM: exit %d\n%s%s", code, stdout, stderr)
	}
	if got := runLayout(t, addr, filepath.Join(out1, im.Layout), im.Digest); got != "Hello, slsabox!\n" {
		t.Errorf("the image printed %q", got)
	}

	// rebuild builds the recorded commit again and compares the image's digest like a
	// file's; a bundle whose image digest differs is refused (exit 1).
	stdout, stderr, code := slsabox(t, "rebuild", dir, "--bundle", filepath.Join(out1, "provenance.sigstore.json"),
		"--key", key+".pub", "--no-tlog-unsafe")
	if code != 0 || !strings.Contains(stdout+stderr, im.Name) {
		t.Errorf("rebuild of the image build: exit %d, want 0 naming %s:\n%s%s", code, im.Name, stdout, stderr)
	}
}

// statementSubjects reads the subjects of the in-toto statement in a bundle.
func statementSubjects(t *testing.T, bundle string) map[string]string {
	t.Helper()
	payload := bundlePayload(t, bundle)
	var st struct {
		Subject []struct {
			Name   string            `json:"name"`
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
	}
	if err := json.Unmarshal(payload, &st); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range st.Subject {
		got[s.Name] = s.Digest["sha256"]
	}
	return got
}

// runLayout imports the OCI layout in dir into containerd (as the tar of the layout,
// the OCI archive containerd reads), checks the image's digest, runs it and returns
// what it printed.
func runLayout(t *testing.T, addr, dir, want string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ctx = namespaces.WithNamespace(ctx, "slsabox-test-image")
	c, err := containerd.New(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var archive bytes.Buffer
	tarDir(t, dir, &archive)
	name := "slsabox.test/hello-image@" + want
	imgs, err := c.Import(ctx, &archive, containerd.WithDigestRef(func(d digest.Digest) string { return "slsabox.test/hello-image@" + d.String() }),
		containerd.WithSkipDigestRef(func(string) bool { return false }))
	if err != nil {
		t.Fatalf("importing the layout: %v", err)
	}
	defer func() {
		for _, i := range imgs {
			_ = c.ImageService().Delete(context.WithoutCancel(ctx), i.Name)
		}
	}()
	// One record by the ref.name annotation (the image's name), one by digest.
	for _, i := range imgs {
		if i.Target.Digest.String() != want {
			t.Fatalf("imported %s as %s, want %s", i.Name, i.Target.Digest, want)
		}
	}
	image, err := c.GetImage(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return runImage(ctx, t, c, image)
}

// runImage unpacks image, runs it and returns what it printed.
func runImage(ctx context.Context, t *testing.T, c *containerd.Client, image containerd.Image) string {
	t.Helper()
	if err := image.Unpack(ctx, "overlayfs"); err != nil {
		t.Fatalf("unpacking: %v", err)
	}
	id := "slsabox-test-hello-image"
	container, err := c.NewContainer(ctx, id, containerd.WithImage(image), containerd.WithSnapshotter("overlayfs"),
		containerd.WithNewSnapshot(id, image), containerd.WithNewSpec(oci.WithImageConfig(image)))
	if err != nil {
		t.Fatalf("creating the container: %v", err)
	}
	defer container.Delete(context.WithoutCancel(ctx), containerd.WithSnapshotCleanup)
	var stdout, stderr bytes.Buffer
	task, err := container.NewTask(ctx, cio.NewCreator(cio.WithStreams(nil, &stdout, &stderr)))
	if err != nil {
		t.Fatalf("creating the task: %v", err)
	}
	defer task.Delete(context.WithoutCancel(ctx), containerd.WithProcessKill)
	exit, err := task.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Start(ctx); err != nil {
		t.Fatalf("starting: %v", err)
	}
	st := <-exit
	if code, _, err := st.Result(); err != nil || code != 0 {
		t.Fatalf("the image exited %d (%v): %s", code, err, stderr.String())
	}
	// The task's output is copied until its streams close, after the exit.
	if _, err := task.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	return stdout.String()
}

func tarDir(t *testing.T, dir string, w io.Writer) {
	t.Helper()
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		h, err := tar.FileInfoHeader(fi, "")
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if d.IsDir() {
			h.Name += "/"
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(tw, f)
			return err
		}
		return nil
	})
	if err == nil {
		err = tw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestHostileImageLayout: a step that writes an OCI layout whose manifest blob does
// not match its digest fails the build with exit 2 and the reason; OUT is not written.
func TestHostileImageLayout(t *testing.T) {
	testenv.Containerd(t)
	image := testenv.Image(t, "testbox.tar")
	repo := t.TempDir()
	manifest := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}`
	wrong := "sha256:" + strings.Repeat("ab", 32)
	files := map[string]string{
		"slsabox.yaml": "version: 1\nimage: " + image + "\nsteps:\n  - name: build\n    run: [cp, -r, /src/layout, /out/img]\n" +
			"images:\n  - {name: registry.example.com/acme/evil, layout: /out/img}\n",
		"layout/oci-layout": `{"imageLayoutVersion":"1.0.0"}`,
		"layout/index.json": `{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + wrong + `","size":` + fmt.Sprint(len(manifest)) + `}]}`,
		"layout/blobs/sha256/" + strings.TrimPrefix(wrong, "sha256:"):                          manifest,
		"layout/blobs/sha256/44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a": "{}",
	}
	for name, data := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(repo, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(repo, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitInitCommit(t, repo)
	out := filepath.Join(t.TempDir(), "out")
	_, stderr, code := slsabox(t, "build", repo, "-o", out, "--unsigned")
	if code != 2 || !strings.Contains(stderr, "image output rejected: image registry.example.com/acme/evil (layout /out/img): invalid OCI image layout: blob "+wrong+" does not match its digest") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("OUT was written: %v", err)
	}
}

// TestImageOnBase: hello-go's program on the testbox image as a base (an OCI archive
// pinned by digest): the signed provenance records the base as a resolved dependency,
// and the image runs the program through the base's shell.
func TestImageOnBase(t *testing.T) {
	testenv.Containerd(t)
	base := testenv.Image(t, "testbox.tar")
	// The same base pushed to a registry (Debian's docker-registry on 127.0.0.1) and
	// named there by digest: fetched, checked, and the same image comes out of the same
	// commit.
	archive := strings.TrimPrefix(base[:strings.LastIndex(base, "@")], "oci-archive:")
	digest, err := push.Push(context.Background(), archive, testenv.Registry(t)+"/slsabox/testbox")
	if err != nil {
		t.Fatal(err)
	}
	onRegistry := testenv.Registry(t) + "/slsabox/testbox@" + digest

	dir := copyExample(t, "hello-go", testenv.Image(t, "go-toolchain.tar"))
	def, err := os.ReadFile(filepath.Join(dir, "slsabox.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for file, b := range map[string]string{"slsabox.yaml": base, "registry.yaml": onRegistry} {
		d := regexp.MustCompile(`(?m)^outputs: .*$`).ReplaceAll(def, []byte(`images:
  - name: registry.example.com/slsabox/hello-sh
    base: `+b+`
    files: [{src: /out/hello, dst: /usr/local/bin/hello}]
    entrypoint: [/bin/sh, -c, "hello -name slsabox"]
    env: {PATH: /usr/local/bin:/bin}`))
		if err := os.WriteFile(filepath.Join(dir, file), d, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("git", "-C", dir, "add", "-A").CombinedOutput(); err != nil {
		t.Fatalf("git add: %v %s", err, out)
	}
	if out, err := exec.Command("git", "-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "on base").CombinedOutput(); err != nil {
		t.Fatalf("git commit: %v %s", err, out)
	}
	a := imageOnBase(t, dir, "slsabox.yaml", base)
	if r := imageOnBase(t, dir, "registry.yaml", onRegistry); r != a {
		t.Errorf("on the registry base the image is %s, on the archive %s", r, a)
	}
}

// imageOnBase builds the definition file of dir, an image of hello-go on base, checks
// the base is recorded as an input, runs the image, and returns its digest.
func imageOnBase(t *testing.T, dir, file, base string) string {
	t.Helper()
	addr := testenv.Containerd(t)
	key := keygen(t)
	out := filepath.Join(t.TempDir(), "out")
	r := buildJSON(t, dir, out, "--key", key+".key", "--no-tlog", "-f", filepath.Join(dir, file))
	if len(r.Images) != 1 {
		t.Fatalf("images: %+v", r.Images)
	}
	im := r.Images[0]
	found := false
	for _, in := range r.Inputs {
		found = found || in.URI == base && in.Digest["sha256"] == base[strings.LastIndex(base, ":")+1:]
	}
	if !found {
		t.Errorf("the base is not among the inputs: %+v", r.Inputs)
	}
	if got := statementSubjects(t, filepath.Join(out, "provenance.sigstore.json")); got[im.Name] != im.SHA256() {
		t.Errorf("provenance subjects %v", got)
	}
	if got := runLayout(t, addr, filepath.Join(out, im.Layout), im.Digest); got != "Hello, slsabox!\n" {
		t.Errorf("the image printed %q", got)
	}
	return im.Digest
}
