package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/slsabox/slsabox/attest"
	"github.com/slsabox/slsabox/attest/spec"
	"github.com/slsabox/slsabox/internal/ocitest"
)

const (
	ociTestBuilder = "https://slsabox.dev/builders/test"
	ociTestSource  = "git+https://github.com/o/r"
)

// signImages signs unlogged provenance naming images (name: sha256:HEX) with the key
// at prefix.key (made when missing, with prefix.pub), and returns the bundle JSON.
func signImages(t *testing.T, prefix string, images map[string]string) []byte {
	t.Helper()
	img := "sha256:" + strings.Repeat("a", 64)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	// The build as describeBuild records one (written out here: these tests also run
	// in the verify-only build, which has no builder).
	b := &attest.Build{
		Definition: attest.Definition{Path: "slsabox.yaml", SHA256: strings.Repeat("d", 64), Content: "version: 1\n"},
		Source:     attest.Source{URI: ociTestSource, Ref: "refs/heads/main", Commit: strings.Repeat("c", 40)},
		Image:      attest.Image{Ref: "docker.io/library/golang:1.26@" + img, Digest: img, ManifestDigest: img, Platform: "linux/amd64"},
		StartedOn:  t0,
		FinishedOn: t0.Add(time.Second),
		LogSHA256:  strings.Repeat("f", 64),
	}
	for n, d := range images {
		b.Subjects = append(b.Subjects, attest.Subject{Name: n, SHA256: strings.TrimPrefix(d, "sha256:"), Image: true})
	}
	st, err := attest.Provenance(b, ociTestBuilder, attest.WithNoTlog())
	if err != nil {
		t.Fatal(err)
	}
	return signWithKeyAt(t, prefix, st)
}

// signWithKeyAt signs st with the key at prefix.key (made when missing, with
// prefix.pub) and returns the bundle JSON.
func signWithKeyAt(t *testing.T, prefix string, st *intoto.Statement) []byte {
	t.Helper()
	if _, err := os.Stat(prefix + ".key"); err != nil {
		privPEM, pubPEM, err := attest.GenerateKey(attest.ECDSAP256, nil)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(prefix+".key", privPEM, 0o600)
		os.WriteFile(prefix+".pub", pubPEM, 0o644)
	}
	privPEM, err := os.ReadFile(prefix + ".key")
	if err != nil {
		t.Fatal(err)
	}
	priv, err := attest.ParsePrivateKey(privPEM, nil)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := attest.NewKeySigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	b, err := attest.Sign(context.Background(), st, signer)
	if err != nil {
		t.Fatal(err)
	}
	data, err := attest.MarshalBundle(b)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// signSBOMOf signs an SBOM statement over the subjects of the provenance bundle
// prov, changed by edit, with the key at prefix.key, and returns the bundle JSON.
func signSBOMOf(t *testing.T, prefix string, prov []byte, edit func(*intoto.Statement)) []byte {
	t.Helper()
	pb, err := attest.ParseBundle(prov)
	if err != nil {
		t.Fatal(err)
	}
	pst, err := attest.ParseStatement(pb.GetDsseEnvelope().GetPayload())
	if err != nil {
		t.Fatal(err)
	}
	pred, err := structpb.NewStruct(map[string]any{"bomFormat": "CycloneDX", "specVersion": "1.6"})
	if err != nil {
		t.Fatal(err)
	}
	st := &intoto.Statement{Type: intoto.StatementTypeUri, Subject: pst.GetSubject(), PredicateType: spec.PredicateCycloneDX, Predicate: pred}
	if edit != nil {
		edit(st)
	}
	return signWithKeyAt(t, prefix, st)
}

func verifyImageArgs(key string, extra ...string) []string {
	return append([]string{"verify", "--key", key + ".pub", "--no-tlog-unsafe", "--builder-id", ociTestBuilder, "--source-uri", ociTestSource}, extra...)
}

func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	t.Setenv("SLSABOX_TRUSTED_ROOT", "")
	var so, se bytes.Buffer
	code = run(context.Background(), args, &so, &se)
	return so.String(), se.String(), code
}

// TestVerifyImageCLI runs verify oci:// against go-containerregistry's in-process
// registry, with and without its referrers API; the integration test does the same
// against the real registries.
func TestVerifyImageCLI(t *testing.T) {
	for _, api := range []bool{true, false} {
		t.Run(map[bool]string{true: "referrers API", false: "tag schema"}[api], func(t *testing.T) {
			reg := registry.New(registry.WithReferrersSupport(api), registry.Logger(log.New(io.Discard, "", 0)))
			var forge [2]string // a hostile registry: answers for forge[0] what it has for forge[1]
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if forge[0] != "" {
					r.URL.Path = strings.Replace(r.URL.Path, forge[0], forge[1], 1)
				}
				reg.ServeHTTP(w, r)
			}))
			t.Cleanup(srv.Close)
			host := strings.TrimPrefix(srv.URL, "http://")
			testVerifyImage(t, host, func(from, to v1.Hash) {
				if from == (v1.Hash{}) {
					forge = [2]string{}
					return
				}
				forge = [2]string{"referrers/" + from.String(), "referrers/" + to.String()}
				if !api {
					forge = [2]string{"manifests/sha256-" + from.Hex, "manifests/sha256-" + to.Hex}
				}
			})
		})
	}
}

// testVerifyImage runs the cases on the registry at host; forge makes the registry
// list the referrers of to as those of from.
func testVerifyImage(t *testing.T, host string, forge func(from, to v1.Hash)) {
	key := filepath.Join(t.TempDir(), "k")
	push := func(repoName string) (name.Repository, v1.Descriptor) {
		repo, err := name.NewRepository(host + "/" + repoName)
		if err != nil {
			t.Fatal(err)
		}
		d, err := ocitest.PushRandom(repo)
		if err != nil {
			t.Fatal(err)
		}
		return repo, d
	}
	attach := func(repo name.Repository, img v1.Descriptor, bundle []byte, edit func(ocitest.Manifest)) {
		if _, err := ocitest.Attach(repo, img, bundle, edit); err != nil {
			t.Fatal(err)
		}
	}

	// The image is named in slsabox.yaml as registry.example.com/acme/hello and
	// pushed with --registry: the subject matches by digest, as for files.
	repo, img := push("acme/hello")
	ref := "oci://" + repo.Name() + "@" + img.Digest.String()
	good := signImages(t, key, map[string]string{"registry.example.com/acme/hello": img.Digest.String()})
	attach(repo, img, good, nil)
	stdout, stderr, code := runCLI(t, verifyImageArgs(key, ref)...)
	if code != 0 || !strings.Contains(stdout, "VERIFIED "+repo.Name()+" ("+img.Digest.String()+") SLSA_BUILD_LEVEL_1 from "+repo.Name()+"@sha256:") {
		t.Fatalf("verify %s exited %d:\n%s%s", ref, code, stdout, stderr)
	}

	stdout, _, code = runCLI(t, verifyImageArgs(key, "--output", "json", ref)...)
	var js struct {
		Verified  bool
		Artifacts []struct {
			Artifact, Bundle, Digest string
			Verified                 bool
		}
	}
	if err := json.Unmarshal([]byte(stdout), &js); err != nil || code != 0 || !js.Verified || len(js.Artifacts) != 1 ||
		js.Artifacts[0].Artifact != repo.Name() || js.Artifacts[0].Digest != img.Digest.Hex || !strings.HasPrefix(js.Artifacts[0].Bundle, repo.Name()+"@sha256:") {
		t.Fatalf("--output json (exit %d, %v):\n%s", code, err, stdout)
	}

	// --bundle with --digest, the form for files, verifies an image too.
	bundleFile := filepath.Join(t.TempDir(), "provenance.sigstore.json")
	os.WriteFile(bundleFile, good, 0o644)
	if stdout, stderr, code := runCLI(t, verifyImageArgs(key, "--bundle", bundleFile, "--digest", img.Digest.String())...); code != 0 {
		t.Fatalf("--bundle --digest exited %d:\n%s%s", code, stdout, stderr)
	}
	// So does --bundle with the image reference, without asking the registry.
	if stdout, stderr, code := runCLI(t, verifyImageArgs(key, "--bundle", bundleFile, "oci://127.0.0.1:1/down@"+img.Digest.String())...); code != 0 {
		t.Fatalf("--bundle oci:// exited %d:\n%s%s", code, stdout, stderr)
	}

	for _, tc := range []struct {
		name  string
		setup func() string // the reference to verify
		code  int
		want  []string
	}{
		{"tag", func() string { return "oci://" + repo.Name() + ":latest" }, 2, []string{"trust on first use", "@sha256:HEX"}},
		{"no referrer", func() string {
			r, im := push("acme/bare")
			return "oci://" + r.Name() + "@" + im.Digest.String()
		}, 1, []string{"no attestation attached", host + "/acme/bare@sha256:", "hint:"}},
		{"unreachable", func() string {
			s := httptest.NewServer(nil)
			s.Close()
			return "oci://" + strings.TrimPrefix(s.URL, "http://") + "/acme/hello@" + img.Digest.String()
		}, 3, []string{"registry unreachable", "hint: check that the registry is up"}},
		{"another image's attestation", func() string {
			// The registry serves, as a referrer of this image, the bundle of another.
			r, im := push("acme/other")
			attach(r, im, signImages(t, key, map[string]string{"registry.example.com/acme/hello": "sha256:" + strings.Repeat("e", 64)}), nil)
			return "oci://" + r.Name() + "@" + im.Digest.String()
		}, 1, []string{"FAILED " + host + "/acme/other", "FAIL subject digest", "with the bundle attached, " + host + "/acme/other@sha256:"}},
		{"referrer of another subject", func() string {
			// The registry lists, as a referrer of this image, hello's good referrer,
			// whose own subject field names hello.
			r, im := push("acme/hello")
			forge(im.Digest, img.Digest)
			return "oci://" + r.Name() + "@" + im.Digest.String()
		}, 1, []string{"another image's attestation"}},
		{"bundle that does not parse", func() string {
			r, im := push("acme/garbage")
			attach(r, im, []byte(`{"mediaType": 1}`), nil)
			return "oci://" + r.Name() + "@" + im.Digest.String()
		}, 1, []string{"the bundle does not parse", "FAILED " + host + "/acme/garbage"}},
		{"another key", func() string {
			r, im := push("acme/key")
			attach(r, im, signImages(t, filepath.Join(t.TempDir(), "other"), map[string]string{"x/y": im.Digest.String()}), nil)
			return "oci://" + r.Name() + "@" + im.Digest.String()
		}, 1, []string{"FAIL signature"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref := tc.setup()
			stdout, stderr, code := runCLI(t, verifyImageArgs(key, ref)...)
			forge(v1.Hash{}, v1.Hash{})
			for _, w := range tc.want {
				if !strings.Contains(stdout+stderr, w) {
					t.Errorf("output lacks %q", w)
				}
			}
			if code != tc.code || t.Failed() {
				t.Fatalf("verify %s exited %d, want %d:\n%s%s", ref, code, tc.code, stdout, stderr)
			}
		})
	}

	// One bundle signed by another key, one good: the image verifies, and the
	// report says which bundle failed.
	r, im := push("acme/two")
	attach(r, im, signImages(t, filepath.Join(t.TempDir(), "other"), map[string]string{"x/y": im.Digest.String()}), nil)
	attach(r, im, signImages(t, key, map[string]string{"x/y": im.Digest.String()}), nil)
	stdout, stderr, code = runCLI(t, verifyImageArgs(key, "oci://"+r.Name()+"@"+im.Digest.String())...)
	if code != 0 || !strings.HasPrefix(stdout, "VERIFIED ") || !strings.Contains(stdout, "\nFAILED "+r.Name()) || !strings.Contains(stderr, "verified by one of the 2 bundles") {
		t.Fatalf("two bundles, one good: exit %d:\n%s%s", code, stdout, stderr)
	}

	// The SBOM, attached as a second referrer, is checked against the provenance;
	// --require-sbom fails an image without one that verifies.
	r, im = push("acme/sbom")
	prov := signImages(t, key, map[string]string{"x/y": im.Digest.String()})
	attach(r, im, prov, nil)
	imgRef := "oci://" + r.Name() + "@" + im.Digest.String()
	if stdout, stderr, code := runCLI(t, verifyImageArgs(key, "--require-sbom", imgRef)...); code != 1 || !strings.Contains(stderr, "no SBOM attached that verifies (0 attached)") {
		t.Fatalf("--require-sbom, no SBOM: exit %d:\n%s%s", code, stdout, stderr)
	}
	attach(r, im, signSBOMOf(t, key, prov, func(st *intoto.Statement) {
		st.Subject[0].Digest["sha256"] = strings.Repeat("e", 64) // another image's SBOM
	}), nil)
	stdout, stderr, code = runCLI(t, verifyImageArgs(key, imgRef)...)
	if code != 0 || !strings.Contains(stdout, "FAILED SBOM attached to "+r.Name()) || !strings.Contains(stdout, "FAIL same subjects as the provenance") {
		t.Fatalf("an SBOM of another image attached: exit %d:\n%s%s", code, stdout, stderr)
	}
	if _, _, code := runCLI(t, verifyImageArgs(key, "--require-sbom", imgRef)...); code != 1 {
		t.Fatalf("--require-sbom with only a wrong SBOM: exit %d", code)
	}
	attach(r, im, signSBOMOf(t, key, prov, nil), nil)
	stdout, stderr, code = runCLI(t, verifyImageArgs(key, "--require-sbom", imgRef)...)
	if code != 0 || !strings.HasPrefix(stdout, "VERIFIED "+r.Name()) || !strings.Contains(stdout, "VERIFIED SBOM attached to "+r.Name()) {
		t.Fatalf("a good SBOM attached: exit %d:\n%s%s", code, stdout, stderr)
	}

	// Files: --sbom beside --bundle.
	dir := t.TempDir()
	provFile, sbomFile, badFile := filepath.Join(dir, "provenance.sigstore.json"), filepath.Join(dir, "sbom.sigstore.json"), filepath.Join(dir, "bad.json")
	os.WriteFile(provFile, prov, 0o644)
	os.WriteFile(sbomFile, signSBOMOf(t, key, prov, nil), 0o644)
	os.WriteFile(badFile, signSBOMOf(t, key, prov, func(st *intoto.Statement) { st.Subject = nil }), 0o644)
	digest := []string{"--bundle", provFile, "--digest", im.Digest.String()}
	if stdout, stderr, code := runCLI(t, verifyImageArgs(key, append(digest, "--sbom", sbomFile, "--require-sbom")...)...); code != 0 || !strings.Contains(stdout, "VERIFIED SBOM "+sbomFile) {
		t.Fatalf("--sbom: exit %d:\n%s%s", code, stdout, stderr)
	}
	if stdout, stderr, code := runCLI(t, verifyImageArgs(key, append(digest, "--sbom", badFile)...)...); code != 1 || !strings.Contains(stdout, "FAILED SBOM "+badFile) {
		t.Fatalf("--sbom over other subjects: exit %d:\n%s%s", code, stdout, stderr)
	}
	if _, _, code := runCLI(t, verifyImageArgs(key, append(digest, "--require-sbom")...)...); code != 2 {
		t.Fatalf("--require-sbom without --sbom: exit %d", code)
	}
	if _, _, code := runCLI(t, verifyImageArgs(key, "--sbom", sbomFile, imgRef)...); code != 2 {
		t.Fatalf("--sbom with an image and no --bundle: exit %d", code)
	}
}

// TestVerifyImageLayout: oci-layout:DIR@sha256:HEX finds bundles attached in the
// layout (none in a layout slsabox build wrote) and, with --bundle, verifies the
// build's bundle; either way a layout whose blob does not match its digest fails.
func TestVerifyImageLayout(t *testing.T) {
	testVerifyImageLayout(t, func(args ...string) (string, string, int) { return runCLI(t, args...) })
}

// testVerifyImageLayout runs the layout cases through cli (in process, or the
// binary in the integration test).
func testVerifyImageLayout(t *testing.T, cli func(args ...string) (string, string, int)) {
	key := filepath.Join(t.TempDir(), "k")
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	bundleFile := filepath.Join(t.TempDir(), "provenance.sigstore.json")
	os.WriteFile(bundleFile, signImages(t, key, map[string]string{"registry.example.com/acme/hello": d.String()}), 0o644)
	ref := "oci-layout:" + dir + "@" + d.String()

	if stdout, stderr, code := cli(verifyImageArgs(key, "--bundle", bundleFile, ref)...); code != 0 || !strings.Contains(stdout, "VERIFIED oci-layout:"+dir+" ("+d.String()+")") {
		t.Fatalf("verify %s --bundle exited %d:\n%s%s", ref, code, stdout, stderr)
	}
	if stdout, stderr, code := cli(verifyImageArgs(key, ref)...); code != 1 || !strings.Contains(stderr, "no attestation attached") {
		t.Fatalf("verify %s without a bundle attached exited %d:\n%s%s", ref, code, stdout, stderr)
	}

	layers, _ := img.Layers()
	ld, _ := layers[0].Digest()
	blob := filepath.Join(dir, "blobs", "sha256", ld.Hex)
	data, _ := os.ReadFile(blob)
	data[len(data)/2] ^= 1
	os.WriteFile(blob, data, 0o644)
	for _, args := range [][]string{{"--bundle", bundleFile, ref}, {ref}} {
		stdout, stderr, code := cli(verifyImageArgs(key, args...)...)
		if code != 1 || !strings.Contains(stderr, "does not match its digest") || strings.Contains(stdout, "VERIFIED") {
			t.Errorf("verify %v of a tampered layout exited %d:\n%s%s", args, code, stdout, stderr)
		}
	}
}
