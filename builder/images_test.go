package builder

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/slsabox/slsabox/internal/ocilayout"
)

func imagesFixture(t *testing.T) (outDir string) {
	t.Helper()
	outDir = t.TempDir()
	if err := os.WriteFile(filepath.Join(outDir, "hello"), []byte("#!/hello\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return outDir
}

func assembled(name string) OutputImage {
	return OutputImage{Name: name, Files: []ImageFile{{Src: "/out/hello", Dst: "/hello"}}, Entrypoint: []string{"/hello"},
		Platform: Platform{OS: "linux", Architecture: "amd64"}}
}

func collect(t *testing.T, outDir string, epoch int64, imgs ...OutputImage) ([]ImageSubject, string, error) {
	t.Helper()
	stage := t.TempDir()
	def := &Definition{Images: imgs, Limits: defaultLimits}
	subj, err := collectImages(context.Background(), def, outDir, t.TempDir(), stage, epoch)
	return subj, stage, err
}

// TestAssembledImageIsDeterministic: same files and SOURCE_DATE_EPOCH, same digest;
// another epoch, another digest. The layout written to OUT checks.
func TestAssembledImageIsDeterministic(t *testing.T) {
	out := imagesFixture(t)
	a, stage, err := collect(t, out, 1700000000, assembled("registry.example.com/acme/hello"))
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := collect(t, imagesFixture(t), 1700000000, assembled("registry.example.com/acme/hello"))
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := collect(t, out, 1700000001, assembled("registry.example.com/acme/hello"))
	if err != nil {
		t.Fatal(err)
	}
	if a[0].Digest != b[0].Digest {
		t.Errorf("same inputs, two digests: %s, %s", a[0].Digest, b[0].Digest)
	}
	if a[0].Digest == c[0].Digest {
		t.Errorf("another SOURCE_DATE_EPOCH, same digest %s", a[0].Digest)
	}
	if a[0].Layout != "images/registry.example.com_acme_hello" || a[0].MediaType != ocilayout.MediaTypeOCIManifest {
		t.Errorf("subject = %+v", a[0])
	}
	l, err := ocilayout.Open(filepath.Join(stage, a[0].Layout), ocilayout.Limits{})
	if err != nil {
		t.Fatalf("OUT's layout does not check: %v", err)
	}
	defer l.Close()
	if l.Image.Digest != a[0].Digest {
		t.Errorf("OUT's layout names %s, subject %s", l.Image.Digest, a[0].Digest)
	}
	// A step's layout of the same image gives the same subject.
	if err := os.Rename(filepath.Join(stage, a[0].Layout), filepath.Join(out, "oci")); err != nil {
		t.Fatal(err)
	}
	d, _, err := collect(t, out, 5, OutputImage{Name: "registry.example.com/acme/hello", Layout: "/out/oci"})
	if err != nil || d[0].Digest != a[0].Digest {
		t.Fatalf("layout source: %+v, %v", d, err)
	}
}

// TestBadImagesAreRequestErrors: a hostile or broken layout, or a missing file, is
// ErrImageRejected, in the ErrInvalidRequest family (exit 2).
func TestBadImagesAreRequestErrors(t *testing.T) {
	out := imagesFixture(t)
	if err := os.MkdirAll(filepath.Join(out, "broken", "blobs", "sha256"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(out, "broken", "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
	os.WriteFile(filepath.Join(out, "broken", "index.json"), []byte(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:`+hex64+`","size":3}]}`), 0o644)
	missing := assembled("registry.example.com/acme/hello")
	missing.Files[0].Src = "/out/nope"
	for _, img := range []OutputImage{
		{Name: "registry.example.com/acme/a", Layout: "/out/broken"},
		{Name: "registry.example.com/acme/b", Layout: "/out/absent"},
		{Name: "registry.example.com/acme/c", Layout: "/out/hello"},
		missing,
	} {
		_, _, err := collect(t, out, 1, img)
		if !errors.Is(err, ErrImageRejected) || !errors.Is(err, ErrInvalidRequest) || !errors.Is(err, ErrOutputRejected) {
			t.Errorf("%s: err = %v, want ErrImageRejected", img.Name, err)
		}
	}
}

func TestCheckSubjectNames(t *testing.T) {
	imgs := []OutputImage{{Name: "registry.example.com/acme/hello"}}
	for _, tc := range []struct {
		name string
		ok   bool
	}{{"hello", true}, {"images/x", false}, {"registry.example.com/acme/hello", false}} {
		err := checkSubjectNames([]Subject{{Name: tc.name}}, imgs)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrOutputRejected)) {
			t.Errorf("%s: err = %v", tc.name, err)
		}
	}
	if err := checkSubjectNames([]Subject{{Name: "images/x"}}, nil); err != nil {
		t.Errorf("no images: %v", err)
	}
}
