package builder

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slsabox/slsabox/internal/ociarchive"
)

// baseArchive writes an OCI archive of one layer holding /etc/greeting, with
// PATH=/bin in its config, and returns its reference pinned by digest.
func baseArchive(t *testing.T) ImageRef {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc", "greeting"), []byte("hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "base.tar")
	res, err := ociarchive.WriteFile(context.Background(), file, []string{root}, ociarchive.Options{
		Env: []string{"PATH=/bin", "A=base"}, Cmd: []string{"/bin/sh"}, Platform: ociarchive.Platform{OS: "linux", Architecture: "amd64"}})
	if err != nil {
		t.Fatal(err)
	}
	return ImageRef{Raw: "oci-archive:base.tar@" + res.Manifest.Digest, Archive: file, Digest: res.Manifest.Digest}
}

func TestAssembledOnBase(t *testing.T) {
	base := baseArchive(t)
	img := assembled("registry.example.com/acme/hello")
	img.Base = &base
	img.Env = []EnvVar{{"A", "mine"}}
	out := imagesFixture(t)
	a, stage, err := collect(t, out, 1700000000, img)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := collect(t, imagesFixture(t), 1700000000, img)
	if err != nil {
		t.Fatal(err)
	}
	if a[0].Digest != b[0].Digest {
		t.Errorf("same base, files and epoch, two digests: %s, %s", a[0].Digest, b[0].Digest)
	}
	// The manifest lists the base's layer, then the files'; the config keeps the
	// base's PATH, takes our A and entrypoint, drops the base's cmd.
	dir := filepath.Join(stage, a[0].Layout)
	read := func(digest string, v any) {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(dir, "blobs", "sha256", strings.TrimPrefix(digest, "sha256:")))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatal(err)
		}
	}
	var man struct {
		Config struct{ Digest string }
		Layers []struct{ Digest string }
	}
	read(a[0].Digest, &man)
	var cfg struct {
		Created string
		Config  struct {
			Env        []string
			Entrypoint []string
			Cmd        []string
		}
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		}
	}
	read(man.Config.Digest, &cfg)
	if len(man.Layers) != 2 || len(cfg.RootFS.DiffIDs) != 2 {
		t.Fatalf("manifest %+v, config %+v", man, cfg)
	}
	if strings.Join(cfg.Config.Env, " ") != "PATH=/bin A=mine" || cfg.Config.Entrypoint[0] != "/hello" || cfg.Config.Cmd != nil ||
		cfg.Created != "2023-11-14T22:13:20Z" {
		t.Errorf("config = %+v", cfg)
	}
	if in := baseInputs(&Definition{Images: []OutputImage{img}}); len(in) != 1 || in[0].Digest["sha256"] != strings.TrimPrefix(base.Digest, "sha256:") {
		t.Errorf("base inputs = %+v", in)
	}
}

func TestBadBases(t *testing.T) {
	good := baseArchive(t)
	notTar := filepath.Join(t.TempDir(), "x.tar")
	os.WriteFile(notTar, []byte("not a tar, at all, not even close to one..."), 0o644)
	for _, tc := range []struct {
		name string
		base ImageRef
		plat Platform
	}{
		{"other digest", ImageRef{Raw: "b", Archive: good.Archive, Digest: "sha256:" + hex64}, Platform{"linux", "amd64", ""}},
		{"missing archive", ImageRef{Raw: "b", Archive: "/nonexistent.tar", Digest: good.Digest}, Platform{"linux", "amd64", ""}},
		{"not a tar", ImageRef{Raw: "b", Archive: notTar, Digest: good.Digest}, Platform{"linux", "amd64", ""}},
		{"other platform", good, Platform{"linux", "arm64", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := assembled("registry.example.com/acme/hello")
			img.Base, img.Platform = &tc.base, tc.plat
			_, _, err := collect(t, imagesFixture(t), 1, img)
			if !errors.Is(err, ErrImageRejected) || !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("err = %v, want ErrImageRejected", err)
			}
		})
	}
}
