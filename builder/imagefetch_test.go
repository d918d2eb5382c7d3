package builder

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestLoadBaseFromRegistry: a base pinned by digest in a registry (go-containerregistry's
// in-process registry on 127.0.0.1 here; cmd/slsabox's TestImageOnRegistryBase uses a
// real one) is downloaded and checked; an index pin gives its manifest for the platform,
// and only that one is downloaded; a digest the registry lacks is the definition's
// error, an unreachable registry the environment's.
func TestLoadBaseFromRegistry(t *testing.T) {
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.ConfigFile(img, &v1.ConfigFile{OS: "linux", Architecture: "amd64", RootFS: v1.RootFS{Type: "layers"}})
	if err != nil {
		t.Fatal(err)
	}
	other, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: other, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
		mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}})
	repo, err := name.NewRepository(host+"/acme/base", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	imgDigest, _ := img.Digest()
	idxDigest, _ := idx.Digest()
	otherDigest, _ := other.Digest()
	if err := remote.Write(repo.Tag("img"), img); err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(repo.Tag("idx"), idx); err != nil {
		t.Fatal(err)
	}
	amd64 := Platform{OS: "linux", Architecture: "amd64"}
	for _, tc := range []struct {
		name, ref string
		want      v1.Hash
		err       error
	}{
		{"manifest", host + "/acme/base@" + imgDigest.String(), imgDigest, nil},
		{"tag and digest", host + "/acme/base:img@" + imgDigest.String(), imgDigest, nil},
		{"index", host + "/acme/base@" + idxDigest.String(), imgDigest, nil},
		{"missing", host + "/acme/base@sha256:" + strings.Repeat("0", 64), v1.Hash{}, ErrImageRejected},
		{"no manifest for the platform", host + "/acme/base@" + otherDigest.String(), v1.Hash{}, ErrImageRejected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref, err := parseImageRef(tc.ref, "")
			if err != nil {
				t.Fatal(err)
			}
			got, err := loadBase(context.Background(), ref, amd64, t.TempDir())
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d, _ := got.Digest(); d != tc.want {
				t.Errorf("base %s, want %s", d, tc.want)
			}
		})
	}

	srv.Close()
	ref, _ := parseImageRef(host+"/acme/base@"+imgDigest.String(), "")
	if _, err := loadBase(context.Background(), ref, amd64, t.TempDir()); !errors.Is(err, ErrEnvironment) {
		t.Errorf("registry down: err = %v, want ErrEnvironment", err)
	}
}
