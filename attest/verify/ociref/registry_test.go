package ociref

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/slsabox/slsabox/internal/ocitest"
)

// testRegistry serves go-containerregistry's in-process registry, with the
// referrers API or (referrers false) only the referrers tag schema; rewrite, when
// set, changes request paths first, as a hostile registry would answer.
func testRegistry(t *testing.T, referrers bool, rewrite func(path string) string) (host string) {
	t.Helper()
	h := registry.New(registry.WithReferrersSupport(referrers), registry.Logger(nopLogger()))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rewrite != nil {
			r.URL.Path = rewrite(r.URL.Path)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func pushImage(t *testing.T, repo name.Repository) v1.Descriptor {
	t.Helper()
	d, err := ocitest.PushRandom(repo)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func attach(t *testing.T, repo name.Repository, subject v1.Descriptor, bundle []byte, edit func(ocitest.Manifest)) v1.Hash {
	t.Helper()
	h, err := ocitest.Attach(repo, subject, bundle, edit)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestFindRegistry(t *testing.T) {
	for _, api := range []bool{true, false} {
		name := "tag schema"
		if api {
			name = "referrers API"
		}
		t.Run(name, func(t *testing.T) { testFindRegistry(t, api) })
	}
}

func testFindRegistry(t *testing.T, api bool) {
	ctx := context.Background()
	bundleJSON := []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`)

	t.Run("attached", func(t *testing.T) {
		repo, _ := name.NewRepository(testRegistry(t, api, nil) + "/acme/hello")
		img := pushImage(t, repo)
		r := attach(t, repo, img, bundleJSON, nil)
		// Another artifact of the image (a signature) is not a bundle: passed over.
		attach(t, repo, img, []byte("sig"), func(m ocitest.Manifest) { m["artifactType"] = "application/vnd.dev.cosign.artifact.sig.v1+json" })
		got, err := Find(ctx, Reference{Name: repo.Name(), Digest: img.Digest.String()})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Err != nil || !bytes.Equal(got[0].JSON, bundleJSON) || got[0].Source != repo.Name()+"@"+r.String() {
			t.Fatalf("Find = %+v, want the one bundle from %s", got, r)
		}
	})

	t.Run("none", func(t *testing.T) {
		repo, _ := name.NewRepository(testRegistry(t, api, nil) + "/acme/hello")
		img := pushImage(t, repo)
		_, err := Find(ctx, Reference{Name: repo.Name(), Digest: img.Digest.String()})
		if !errors.Is(err, ErrNoAttestation) || !strings.Contains(err.Error(), repo.Name()) {
			t.Fatalf("Find = %v, want ErrNoAttestation naming the image", err)
		}
	})

	for _, tc := range []struct {
		name string
		edit func(ocitest.Manifest)
		opts []Option
		want string
	}{
		{"oversized bundle layer", nil, []Option{WithMaxBundleSize(16)}, "more than the 16 a bundle may have"},
		{"two layers", func(m ocitest.Manifest) { m["layers"] = append(m["layers"].([]any), m["config"]) }, nil, "2 layers"},
		{"layer not a bundle", func(m ocitest.Manifest) {
			m["layers"].([]any)[0].(map[string]any)["mediaType"] = "application/octet-stream"
		}, nil, "not a Sigstore bundle"},
		{"layer size lies", func(m ocitest.Manifest) { m["layers"].([]any)[0].(map[string]any)["size"] = 3 }, nil, "descriptor says 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo, _ := name.NewRepository(testRegistry(t, api, nil) + "/acme/hello")
			img := pushImage(t, repo)
			attach(t, repo, img, bundleJSON, tc.edit)
			got, err := Find(ctx, Reference{Name: repo.Name(), Digest: img.Digest.String()}, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || !errors.Is(got[0].Err, ErrRefused) || !strings.Contains(got[0].Err.Error(), tc.want) {
				t.Fatalf("Find = %+v, want one refused referrer: %s", got, tc.want)
			}
		})
	}

	t.Run("listed referrer of another subject", func(t *testing.T) {
		// The registry lists, for image A, the referrer of image B: the manifest's
		// own subject says B, and it is refused.
		var a, b v1.Descriptor
		host := testRegistry(t, api, func(p string) string {
			if a.Digest.Hex != "" {
				p = strings.Replace(p, "referrers/"+a.Digest.String(), "referrers/"+b.Digest.String(), 1)
				p = strings.Replace(p, "manifests/sha256-"+a.Digest.Hex, "manifests/sha256-"+b.Digest.Hex, 1)
			}
			return p
		})
		repo, _ := name.NewRepository(host + "/acme/hello")
		b = pushImage(t, repo)
		attach(t, repo, b, bundleJSON, nil)
		a = pushImage(t, repo)
		got, err := Find(ctx, Reference{Name: repo.Name(), Digest: a.Digest.String()})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || !errors.Is(got[0].Err, ErrRefused) || !strings.Contains(got[0].Err.Error(), "another image's attestation") {
			t.Fatalf("Find = %+v, want the referrer refused as another image's attestation", got)
		}
	})
}

func TestFindUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	host := strings.TrimPrefix(srv.URL, "http://")
	srv.Close()
	d := "sha256:" + strings.Repeat("ab", 32)
	_, err := Find(context.Background(), Reference{Name: host + "/acme/hello", Digest: d})
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Find on a closed port = %v, want ErrUnreachable", err)
	}
}

func TestFindPlainHTTPOnlyToLoopback(t *testing.T) {
	// RFC 1918 addresses (and .local names) would get plain HTTP from go-containerregistry.
	d := "sha256:" + strings.Repeat("ab", 32)
	for _, host := range []string{"10.255.255.1:5000", "192.168.255.1:5000"} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		_, err := Find(ctx, Reference{Name: host + "/acme/hello", Digest: d})
		cancel()
		if err == nil || !strings.Contains(err.Error(), "only registries on loopback") {
			t.Errorf("Find on %s = %v, want plain HTTP refused", host, err)
		}
	}
}

func TestCappedBody(t *testing.T) {
	for _, tc := range []struct {
		body string
		max  int64
		err  error
	}{
		{"12345", 5, nil},
		{"123456", 5, errBodyTooLarge},
		{"", 0, nil},
	} {
		c := &cappedBody{rc: ioNopCloser(strings.NewReader(tc.body)), left: tc.max}
		got, err := readAll(c)
		if !errors.Is(err, tc.err) || (err == nil && got != tc.body) {
			t.Errorf("reading %q capped at %d = %q, %v; want %v", tc.body, tc.max, got, err, tc.err)
		}
	}
}
