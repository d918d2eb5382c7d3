//go:build integration

package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/slsabox/slsabox/attest/ocipush"
	"github.com/slsabox/slsabox/internal/testenv"
)

// TestPushHelloImage builds examples/hello-image with --push to a registry that is
// down (exit 3, OUT kept), then pushes the same build with slsabox push to both
// test registries: the one with the referrers API and docker-registry, which has
// the tag schema only. On each, the referrer is found (go-containerregistry, crane),
// cosign verify-attestation accepts it under the build's key and rejects it under
// another, and on the first the image, pulled by digest with containerd, runs.
// A second build with --push succeeds in one go.
func TestPushHelloImage(t *testing.T) {
	addr := testenv.Containerd(t)
	regOCI, regTags := testenv.RegistryOCI(t), testenv.Registry(t)
	cosign, crane := testenv.Tool(t, "cosign"), testenv.Tool(t, "crane")
	dir := helloImageSource(t)
	key, other := keygen(t), keygen(t)
	out := filepath.Join(t.TempDir(), "out")
	bundle := filepath.Join(out, "provenance.sigstore.json")

	// The registry is down: the build is published, exit 3 with the way to finish.
	_, stderr, code := slsabox(t, "build", dir, "-o", out, "--key", key+".key", "--no-tlog", "--push", "--registry", "127.0.0.1:1")
	if code != exitEnvironment || !strings.Contains(stderr, "slsabox push --bundle "+bundle) {
		t.Fatalf("push to a registry that is down: exit %d, want 3 with a hint:\n%s", code, stderr)
	}
	if _, err := os.Stat(bundle); err != nil {
		t.Fatalf("the signed bundle is lost: %v", err)
	}
	var pushed []ocipush.Pushed
	for _, reg := range []string{regOCI, regTags} {
		stdout, stderr, code := slsabox(t, "push", "--bundle", bundle, "--registry", reg, "--tag", "v1.0.0", "--output", "json")
		if code != 0 {
			t.Fatalf("slsabox push --registry %s exited %d:\n%s", reg, code, stderr)
		}
		var res struct{ Images []ocipush.Pushed }
		if err := json.Unmarshal([]byte(stdout), &res); err != nil || len(res.Images) != 1 {
			t.Fatalf("push --output json: %v\n%s", err, stdout)
		}
		pushed = append(pushed, res.Images[0])
	}
	for i, p := range pushed {
		t.Run([]string{"referrers API", "tag schema"}[i], func(t *testing.T) {
			checkReferrer(t, p)
			repo, _, _ := strings.Cut(p.Ref, "@")
			// --tag: written last, naming the image (crane digest resolves it).
			if d, err := exec.Command(crane, "digest", "--insecure", repo+":v1.0.0").Output(); err != nil ||
				strings.TrimSpace(string(d)) != p.Digest || len(p.Tags) != 1 || p.Tags[0] != repo+":v1.0.0" {
				t.Errorf("tag v1.0.0: crane digest %q (%v), pushed tags %v; want %s", d, err, p.Tags, p.Digest)
			}
			if i == 0 {
				// The referrer manifest, by digest, names the image as its subject.
				m, err := exec.Command(crane, "manifest", "--insecure", repo+"@"+p.Referrer).Output()
				if err != nil || !strings.Contains(string(m), p.Digest) || !strings.Contains(string(m), ocipush.BundleMediaType) {
					t.Errorf("crane manifest of the referrer: %v\n%s", err, m)
				}
			} else {
				tag := strings.Replace(p.Digest, ":", "-", 1)
				ls, err := exec.Command(crane, "ls", "--insecure", repo).Output()
				if err != nil || !strings.Contains(string(ls), tag) {
					t.Errorf("crane ls %s: %v, want the referrers tag %s:\n%s", repo, err, tag, ls)
				}
				idx, err := exec.Command(crane, "manifest", "--insecure", repo+":"+tag).Output()
				if err != nil || !strings.Contains(string(idx), p.Referrer) {
					t.Errorf("crane manifest %s:%s: %v, want %s:\n%s", repo, tag, err, p.Referrer, idx)
				}
			}
			verify := func(pub, typ string) ([]byte, error) {
				return exec.Command(cosign, "verify-attestation", "--key", pub, "--type", typ,
					"--allow-http-registry", "--insecure-ignore-tlog", p.Ref).CombinedOutput()
			}
			if b, err := verify(key+".pub", "slsaprovenance1"); err != nil {
				t.Errorf("cosign verify-attestation refused the pushed provenance: %v\n%s", err, b)
			}
			if b, err := verify(other+".pub", "slsaprovenance1"); err == nil {
				t.Errorf("cosign verify-attestation accepted the provenance under another key:\n%s", b)
			}
			// The SBOM, the second referrer, is found by cosign under its own type.
			if len(p.Attached) != 1 {
				t.Errorf("attached %v, want the SBOM's referrer", p.Attached)
			}
			if b, err := verify(key+".pub", "cyclonedx"); err != nil {
				t.Errorf("cosign verify-attestation --type cyclonedx refused the pushed SBOM: %v\n%s", err, b)
			}
			// slsabox verify checks both referrers.
			if out, errOut, code := slsabox(t, "verify", "oci://"+p.Ref, "--key", key+".pub", "--no-tlog-unsafe",
				"--allow-any-builder-unsafe", "--allow-any-source-unsafe", "--require-sbom"); code != 0 || !strings.Contains(out, "VERIFIED SBOM attached to") {
				t.Errorf("slsabox verify --require-sbom of the pushed image: exit %d\n%s%s", code, out, errOut)
			}
		})
	}
	if got := pullRun(t, addr, pushed[0].Ref); got != "Hello, slsabox!\n" {
		t.Errorf("the pulled image printed %q", got)
	}

	// --push in one go; the same image digest, a second referrer.
	res := buildJSON(t, dir, filepath.Join(t.TempDir(), "out2"), "--key", key+".key", "--no-tlog", "--push", "--registry", regOCI)
	if len(res.Images) != 1 || res.Images[0].Digest != pushed[0].Digest {
		t.Fatalf("second build: %+v, want the digest %s", res.Images, pushed[0].Digest)
	}
}

// checkReferrer finds p's referrer among the referrers of its image (the API, or the
// tag schema) and checks its artifactType and subject.
func checkReferrer(t *testing.T, p ocipush.Pushed) {
	t.Helper()
	d, err := name.NewDigest(p.Ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Referrers(d)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range im.Manifests {
		found = found || m.Digest.String() == p.Referrer
	}
	if !found {
		t.Fatalf("the referrers of %s are %+v, without %s", p.Ref, im.Manifests, p.Referrer)
	}
	raw, err := remote.Get(d.Context().Digest(p.Referrer))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		ArtifactType string `json:"artifactType"`
		Subject      struct {
			Digest string `json:"digest"`
		} `json:"subject"`
		Layers []struct {
			MediaType string `json:"mediaType"`
		} `json:"layers"`
	}
	if err := json.Unmarshal(raw.Manifest, &m); err != nil {
		t.Fatal(err)
	}
	if m.ArtifactType != ocipush.BundleMediaType || m.Subject.Digest != p.Digest || len(m.Layers) != 1 || m.Layers[0].MediaType != ocipush.BundleMediaType {
		t.Errorf("referrer %s: %s", p.Referrer, raw.Manifest)
	}
}

// helloImageSource is a git work tree of examples/hello-go with hello-image's
// slsabox.yaml, on the local go-toolchain image.
func helloImageSource(t *testing.T) string {
	t.Helper()
	img := testenv.Image(t, "go-toolchain.tar")
	dir := copyExample(t, "hello-go", img)
	def, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "examples", "hello-image", "slsabox.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	def = regexp.MustCompile(`(?m)^image: .*$`).ReplaceAll(def, []byte("image: "+img))
	if err := os.WriteFile(filepath.Join(dir, "slsabox.yaml"), def, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("git", "-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qam", "hello-image").CombinedOutput(); err != nil {
		t.Fatalf("git commit: %v %s", err, out)
	}
	return dir
}

// pullRun pulls ref (REGISTRY/REPO@sha256:..., a loopback registry) with containerd,
// runs it and returns what it printed.
func pullRun(t *testing.T, addr, ref string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ctx = namespaces.WithNamespace(ctx, "slsabox-test-push")
	c, err := containerd.New(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	resolver := docker.NewResolver(docker.ResolverOptions{Hosts: docker.ConfigureDefaultRegistries(docker.WithPlainHTTP(docker.MatchLocalhost))})
	image, err := c.Pull(ctx, ref, containerd.WithResolver(resolver), containerd.WithPullSnapshotter("overlayfs"))
	if err != nil {
		t.Fatalf("pulling %s: %v", ref, err)
	}
	defer func() { _ = c.ImageService().Delete(context.WithoutCancel(ctx), image.Name()) }()
	if _, d, _ := strings.Cut(ref, "@"); image.Target().Digest.String() != d {
		t.Fatalf("pulled %s as %s", ref, image.Target().Digest)
	}
	return runImage(ctx, t, c, image)
}
