package ocipush

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

const imageName = "registry.example.com/acme/hello"

// testImage writes a random image as an OCI layout and a bundle whose statement
// names it.
func testImage(t *testing.T) (Image, []byte) {
	t.Helper()
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "layout")
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return Image{Name: imageName, Digest: d.String(), Layout: dir}, bundleFor(t, map[string]string{imageName: d.Hex})
}

func bundleFor(t *testing.T, subjects map[string]string) []byte {
	t.Helper()
	return bundleOf(t, "https://slsa.dev/provenance/v1", subjects)
}

func bundleOf(t *testing.T, predicateType string, subjects map[string]string) []byte {
	t.Helper()
	type subject struct {
		Name   string            `json:"name"`
		Digest map[string]string `json:"digest"`
	}
	st := map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"predicateType": predicateType,
		"predicate":     map[string]any{"runDetails": map[string]any{"metadata": map[string]any{"finishedOn": "2026-01-02T03:04:05.123Z"}}},
	}
	if predicateType != "https://slsa.dev/provenance/v1" {
		st["predicate"] = map[string]any{"bomFormat": "CycloneDX"} // no build end of its own
	}
	var subs []subject
	for n, d := range subjects {
		subs = append(subs, subject{n, map[string]string{"sha256": d}})
	}
	st["subject"] = subs
	payload, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(map[string]any{
		"mediaType":    BundleMediaType,
		"dsseEnvelope": map[string]any{"payload": base64.StdEncoding.EncodeToString(payload), "payloadType": "application/vnd.in-toto+json"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPush pushes to go-containerregistry's in-process registry, with and without
// the referrers API: either way the referrer is found (remote.Referrers falls back to
// the tag schema) in cosign's shape. The real registries are in the integration tests.
func TestPush(t *testing.T) {
	for _, referrers := range []bool{true, false} {
		t.Run(map[bool]string{true: "referrers API", false: "tag schema"}[referrers], func(t *testing.T) {
			srv := httptest.NewServer(registry.New(registry.WithReferrersSupport(referrers), registry.Logger(log.New(io.Discard, "", 0))))
			defer srv.Close()
			host := strings.TrimPrefix(srv.URL, "http://")
			img, bundle := testImage(t)
			var progress strings.Builder
			got, err := Push(context.Background(), bundle, []Image{img}, WithRegistry(host), WithProgress(&progress))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Ref != host+"/acme/hello@"+img.Digest || got[0].Digest != img.Digest {
				t.Fatalf("pushed %+v", got)
			}
			// Pushing again is harmless and gives the same referrer; tags come last and
			// name the image.
			again, err := Push(context.Background(), bundle, []Image{img}, WithRegistry(host), WithTags("v1.2.3", "latest"))
			if err != nil || again[0].Referrer != got[0].Referrer {
				t.Fatalf("second push: %+v, %v", again, err)
			}
			if want := []string{host + "/acme/hello:v1.2.3", host + "/acme/hello:latest"}; strings.Join(again[0].Tags, " ") != strings.Join(want, " ") {
				t.Errorf("tags %v, want %v", again[0].Tags, want)
			}
			for _, tag := range again[0].Tags {
				tr, err := name.NewTag(tag, name.Insecure)
				if err != nil {
					t.Fatal(err)
				}
				if desc, err := remote.Head(tr); err != nil || desc.Digest.String() != img.Digest {
					t.Errorf("%s names %v (%v), want %s", tag, desc, err, img.Digest)
				}
			}
			d, err := name.NewDigest(got[0].Ref, name.Insecure)
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
			if len(im.Manifests) != 1 || im.Manifests[0].Digest.String() != got[0].Referrer {
				t.Fatalf("referrers %+v, want one: %s", im.Manifests, got[0].Referrer)
			}
			// go-containerregistry's registry reports the config's media type, not the
			// manifest's artifactType, in its referrers API; the tag schema index is ours.
			if at := im.Manifests[0].ArtifactType; at != BundleMediaType && (referrers && at != EmptyMediaType || !referrers) {
				t.Errorf("referrer listed with artifactType %q", at)
			}
			ref, err := remote.Image(d.Context().Digest(got[0].Referrer))
			if err != nil {
				t.Fatal(err)
			}
			m, err := ref.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			raw, err := ref.RawManifest()
			if err != nil {
				t.Fatal(err)
			}
			var at struct {
				ArtifactType string `json:"artifactType"`
			}
			if err := json.Unmarshal(raw, &at); err != nil || at.ArtifactType != BundleMediaType {
				t.Errorf("referrer's artifactType %q (%v), want %s", at.ArtifactType, err, BundleMediaType)
			}
			if m.Subject == nil || m.Subject.Digest.String() != img.Digest || m.Config.MediaType != EmptyMediaType ||
				len(m.Layers) != 1 || m.Layers[0].MediaType != BundleMediaType ||
				m.Annotations[annotationPredicateType] != "https://slsa.dev/provenance/v1" ||
				m.Annotations[annotationCreated] != "2026-01-02T03:04:05Z" {
				t.Fatalf("referrer manifest %+v", m)
			}
			layers, err := ref.Layers()
			if err != nil {
				t.Fatal(err)
			}
			rc, err := layers[0].Compressed()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			if b, _ := io.ReadAll(rc); string(b) != string(bundle) {
				t.Error("the referrer's layer is not the bundle")
			}
			if !strings.Contains(progress.String(), "attached the provenance") {
				t.Errorf("progress %q", progress.String())
			}
		})
	}
}

// TestPushAttachments: the SBOM bundle goes as a second referrer of the image,
// dated as the provenance's; one over other subjects is refused before any upload.
func TestPushAttachments(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	img, bundle := testImage(t)
	hex := strings.TrimPrefix(img.Digest, "sha256:")
	sbom := bundleOf(t, "https://cyclonedx.org/bom", map[string]string{imageName: hex})
	got, err := Push(context.Background(), bundle, []Image{img}, WithRegistry(host), WithAttachments(sbom))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got[0].Attached) != 1 || got[0].Attached[0] == got[0].Referrer {
		t.Fatalf("pushed %+v", got)
	}
	d, err := name.NewDigest(got[0].Ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Referrers(d)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil || len(im.Manifests) != 2 {
		t.Fatalf("referrers %+v (%v), want the provenance and the SBOM", im, err)
	}
	ref, err := remote.Image(d.Context().Digest(got[0].Attached[0]))
	if err != nil {
		t.Fatal(err)
	}
	m, err := ref.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.Annotations[annotationPredicateType] != "https://cyclonedx.org/bom" || m.Annotations[annotationCreated] != "2026-01-02T03:04:05Z" {
		t.Errorf("SBOM referrer annotations %v", m.Annotations)
	}

	other := bundleOf(t, "https://cyclonedx.org/bom", map[string]string{imageName: strings.Repeat("0", 64)})
	if _, err := Push(context.Background(), bundle, []Image{img}, WithRegistry(host), WithAttachments(other)); !errors.Is(err, ErrInvalidImage) ||
		!strings.Contains(err.Error(), "attachment 1") {
		t.Errorf("an SBOM of another image: %v", err)
	}
}

func TestPushRefuses(t *testing.T) {
	img, bundle := testImage(t)
	other := bundleFor(t, map[string]string{imageName: strings.Repeat("0", 64)})
	renamed := img
	renamed.Name = "registry.example.com/acme/other"
	wrongDigest := img
	wrongDigest.Digest = "sha256:" + strings.Repeat("1", 64)
	for _, c := range []struct {
		name   string
		bundle []byte
		img    Image
		opts   []Option
		want   error
	}{
		{"digest not a subject", other, img, nil, ErrInvalidImage},
		{"name not a subject", bundle, renamed, nil, ErrInvalidImage},
		{"layout holds another image", bundleFor(t, map[string]string{imageName: strings.Repeat("1", 64)}), wrongDigest, nil, ErrInvalidImage},
		{"not a bundle", []byte(`{"mediaType":"x"}`), img, nil, ErrInvalidBundle},
		{"registry with a scheme", bundle, img, []Option{WithRegistry("http://127.0.0.1:1")}, ErrConfiguration},
		{"registry down", bundle, img, []Option{WithRegistry("127.0.0.1:1"), WithAttempts(1)}, ErrUnavailable},
		{"bad tag", bundle, img, []Option{WithTags("-v1")}, ErrConfiguration},
		{"tag with a colon", bundle, img, []Option{WithTags("v1:x")}, ErrConfiguration},
		{"plain HTTP off loopback", bundle, img, []Option{WithRegistry("10.255.255.1:5000"), WithAttempts(1)}, ErrUnavailable},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Push(context.Background(), c.bundle, []Image{c.img}, c.opts...)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
}

var _ remote.Taggable = rawManifest(nil)

// TestPushLostReferrer: without the referrers API, another writer can replace the
// sha256-<hex> index between go-containerregistry's read and write. A registry that
// hides the referrer from the listing once gets it put again; one that always hides it
// fails the push with ErrUnavailable, never a silent success.
func TestPushLostReferrer(t *testing.T) {
	for _, tc := range []struct {
		name  string
		hides int
		err   error
	}{{"lost once", 1, nil}, {"always lost", 100, ErrUnavailable}} {
		t.Run(tc.name, func(t *testing.T) {
			reg := registry.New(registry.WithReferrersSupport(false), registry.Logger(log.New(io.Discard, "", 0)))
			hidden, gets := 0, 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// GETs of the referrers tag: go-containerregistry's read before its write,
				// then slsabox's listing. From the listing on, answer as if another writer
				// had replaced the index (here: removed the tag).
				if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/manifests/sha256-") {
					gets++
				}
				if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/manifests/sha256-") && gets >= 2 && hidden < tc.hides {
					hidden++
					http.Error(w, `{"errors":[{"code":"MANIFEST_UNKNOWN"}]}`, http.StatusNotFound)
					return
				}
				reg.ServeHTTP(w, r)
			}))
			defer srv.Close()
			host := strings.TrimPrefix(srv.URL, "http://")
			img, bundle := testImage(t)
			got, err := Push(context.Background(), bundle, []Image{img}, WithRegistry(host), WithAttempts(1))
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || len(got) != 1 || hidden != 1 || gets < 4 {
				t.Fatalf("push: %+v, %v (listing hidden %d times, %d reads of the tag: want a second put and listing)", got, err, hidden, gets)
			}
		})
	}
}
