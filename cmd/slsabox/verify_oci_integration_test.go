//go:build integration

package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/slsabox/slsabox/attest/verify/ociref"
	"github.com/slsabox/slsabox/internal/ocitest"
	"github.com/slsabox/slsabox/internal/testenv"
)

// TestVerifyImageFromRegistry runs the slsabox binary's verify oci:// against the
// real registries scripts/test.sh starts: one with the OCI 1.1 referrers API
// (SLSABOX_REGISTRY_OCI) and Debian's docker-registry 2.8, which has none, so that
// referrers are found through the referrers tag schema (SLSABOX_REGISTRY). The
// bundle is attached in the shape cosign v3 writes (internal/ocitest), not by
// slsabox push, so that this test proves discovery on its own; every tamper is
// rejected.
func TestVerifyImageFromRegistry(t *testing.T) {
	for _, reg := range []struct {
		name, host string
		api        bool
	}{
		{"referrers API", testenv.RegistryOCI(t), true},
		{"tag schema", testenv.Registry(t), false},
	} {
		t.Run(reg.name, func(t *testing.T) { testVerifyImageFromRegistry(t, reg.host, reg.api) })
	}
}

func testVerifyImageFromRegistry(t *testing.T, host string, api bool) {
	key := filepath.Join(t.TempDir(), "k")
	suffix := make([]byte, 4)
	rand.Read(suffix)
	repoName := func(n string) name.Repository {
		r, err := name.NewRepository(host + "/slsabox-test/verify-" + n + "-" + hex.EncodeToString(suffix))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	push := func(n string) (name.Repository, v1.Descriptor) {
		r := repoName(n)
		d, err := ocitest.PushRandom(r)
		if err != nil {
			t.Fatalf("pushing to %s: %v", host, err)
		}
		return r, d
	}
	attach := func(r name.Repository, img v1.Descriptor, bundle []byte) {
		if _, err := ocitest.Attach(r, img, bundle, nil); err != nil {
			t.Fatalf("attaching to %s: %v", r, err)
		}
	}
	verifyRef := func(ref string, extra ...string) (string, string, int) {
		return slsabox(t, verifyImageArgs(key, append(extra, ref)...)...)
	}

	// The image as slsabox build names it, pushed with --registry: matched by digest.
	repo, img := push("hello")
	ref := "oci://" + repo.Name() + "@" + img.Digest.String()
	attach(repo, img, signImages(t, key, map[string]string{"registry.example.com/acme/hello": img.Digest.String()}))
	stdout, stderr, code := verifyRef(ref)
	if code != 0 || !strings.Contains(stdout, "VERIFIED "+repo.Name()+" ("+img.Digest.String()+") SLSA_BUILD_LEVEL_1 from "+repo.Name()+"@sha256:") {
		t.Fatalf("verify %s exited %d:\n%s%s", ref, code, stdout, stderr)
	}
	// The peer reads the same attachment: what this test attaches is what cosign
	// v3 finds, and it refuses it under another key.
	cosign := func(pub string) (string, error) {
		out, err := exec.Command(testenv.Tool(t, "cosign"), "verify-attestation", "--key", pub, "--type", "slsaprovenance1",
			"--allow-http-registry", "--insecure-ignore-tlog", repo.Name()+"@"+img.Digest.String()).CombinedOutput()
		return string(out), err
	}
	if out, err := cosign(key + ".pub"); err != nil {
		t.Errorf("cosign verify-attestation rejects the attached bundle: %v\n%s", err, out)
	}
	other := filepath.Join(t.TempDir(), "other")
	signImages(t, other, map[string]string{"x/y": img.Digest.String()}) // makes the key pair
	if out, err := cosign(other + ".pub"); err == nil {
		t.Errorf("cosign verify-attestation accepts the attached bundle under another key:\n%s", out)
	}
	if !api {
		// The referrers API is not there: the referrer was found through the tag.
		if _, err := remote.Head(repo.Tag("sha256-" + img.Digest.Hex)); err != nil {
			t.Errorf("no referrers tag sha256-%s on %s: %v", img.Digest.Hex, host, err)
		}
	}
	stdout, stderr, code = verifyRef(ref, "--output", "json")
	var js struct {
		Verified  bool `json:"verified"`
		Artifacts []struct {
			Artifact string `json:"artifact"`
			Bundle   string `json:"bundle"`
			Verified bool   `json:"verified"`
		} `json:"artifacts"`
	}
	if err := json.Unmarshal([]byte(stdout), &js); err != nil || code != 0 || !js.Verified || len(js.Artifacts) != 1 || !js.Artifacts[0].Verified || js.Artifacts[0].Artifact != repo.Name() {
		t.Errorf("--output json exited %d (%v):\n%s%s", code, err, stdout, stderr)
	}

	// A tag is refused: resolving it is trust on first use.
	if _, stderr, code := verifyRef("oci://" + repo.Name() + ":latest"); code != 2 || !strings.Contains(stderr, "trust on first use") {
		t.Errorf("verify by tag exited %d, want 2:\n%s", code, stderr)
	}

	for _, tc := range []struct {
		name  string
		setup func() string
		code  int
		want  string
	}{
		{"no referrer", func() string {
			r, im := push("bare")
			return "oci://" + r.Name() + "@" + im.Digest.String()
		}, 1, "no attestation attached"},
		{"unreachable", func() string {
			s := httptest.NewServer(nil)
			s.Close()
			return "oci://" + strings.TrimPrefix(s.URL, "http://") + "/acme/hello@" + img.Digest.String()
		}, 3, "registry unreachable"},
		{"another image's attestation", func() string {
			// The registry serves, as the attestation of this image, another's.
			r, im := push("other")
			attach(r, im, signImages(t, key, map[string]string{"registry.example.com/acme/hello": img.Digest.String()}))
			return "oci://" + r.Name() + "@" + im.Digest.String()
		}, 1, "FAIL subject digest"},
		{"referrer of another subject", func() string {
			// The registry lists hello's referrer as one of this image's: its own
			// subject field names hello.
			r, im := push("subject")
			return "oci://" + forgeReferrers(t, api, host, r, im, repo, img) + "@" + im.Digest.String()
		}, 1, "another image's attestation"},
		{"another key", func() string {
			r, im := push("key")
			attach(r, im, signImages(t, filepath.Join(t.TempDir(), "other"), map[string]string{"x/y": im.Digest.String()}))
			return "oci://" + r.Name() + "@" + im.Digest.String()
		}, 1, "FAIL signature"},
		{"oversized bundle layer", func() string {
			r, im := push("big")
			big := make([]byte, ociref.DefaultMaxBundleSize+1)
			for i := range big {
				big[i] = ' '
			}
			attach(r, im, big)
			return "oci://" + r.Name() + "@" + im.Digest.String()
		}, 1, "more than the 8388608 a bundle may have"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref := tc.setup()
			stdout, stderr, code := verifyRef(ref)
			if code != tc.code || !strings.Contains(stdout+stderr, tc.want) || strings.Contains(stdout, "VERIFIED") {
				t.Errorf("verify %s exited %d, want %d and %q:\n%s%s", ref, code, tc.code, tc.want, stdout, stderr)
			}
		})
	}
}

// TestVerifyImageLayoutBinary runs the oci-layout: cases with the slsabox binary.
func TestVerifyImageLayoutBinary(t *testing.T) {
	testVerifyImageLayout(t, func(args ...string) (string, string, int) { return slsabox(t, args...) })
}

// forgeReferrers makes the registry list the referrers of img (in repo) as those of
// im (in r), and returns the REGISTRY/REPO to verify im at. Without the referrers
// API the registry serves whatever index the sha256-HEX tag holds: the forged
// index is pushed there. With it, the registry computes the list itself, so a proxy
// in front of it answers the forged list, as a hostile registry would.
func forgeReferrers(t *testing.T, api bool, host string, r name.Repository, im v1.Descriptor, repo name.Repository, img v1.Descriptor) string {
	t.Helper()
	if !api {
		idx, err := remote.Referrers(repo.Digest(img.Digest.String()))
		if err != nil {
			t.Fatal(err)
		}
		raw, err := idx.RawManifest()
		if err != nil {
			t.Fatal(err)
		}
		list, _ := idx.IndexManifest()
		for _, d := range list.Manifests {
			// The referrer's manifest and blobs must be in r for the registry to serve them.
			desc, err := remote.Get(repo.Digest(d.Digest.String()))
			if err != nil {
				t.Fatal(err)
			}
			m, _ := v1.ParseManifest(strings.NewReader(string(desc.Manifest)))
			for _, l := range append([]v1.Descriptor{m.Config}, m.Layers...) {
				layer, _ := remote.Layer(repo.Digest(l.Digest.String()))
				if err := remote.WriteLayer(r, layer); err != nil {
					t.Fatal(err)
				}
			}
			if err := remote.Put(r.Digest(d.Digest.String()), desc); err != nil {
				t.Fatal(err)
			}
		}
		if err := remote.Put(r.Tag("sha256-"+im.Digest.Hex), rawIndex(raw)); err != nil {
			t.Fatal(err)
		}
		return r.Name()
	}
	target, _ := url.Parse("http://" + host)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var forged atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if p := "/v2/" + r.RepositoryStr() + "/referrers/" + im.Digest.String(); req.URL.Path == p {
			req.URL.Path = "/v2/" + repo.RepositoryStr() + "/referrers/" + img.Digest.String()
			forged.Add(1)
		}
		// Everything else of r is served from repo, where hello's referrer is.
		req.URL.Path = strings.Replace(req.URL.Path, "/v2/"+r.RepositoryStr()+"/", "/v2/"+repo.RepositoryStr()+"/", 1)
		proxy.ServeHTTP(w, req)
	}))
	t.Cleanup(func() {
		srv.Close()
		if forged.Load() == 0 {
			t.Errorf("the forged referrers list was never asked for")
		}
	})
	return strings.TrimPrefix(srv.URL, "http://") + "/" + r.RepositoryStr()
}

type rawIndex []byte

func (r rawIndex) RawManifest() ([]byte, error)        { return r, nil }
func (r rawIndex) MediaType() (types.MediaType, error) { return types.OCIImageIndex, nil }
