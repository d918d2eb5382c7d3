package builder

import (
	"errors"
	"strings"
	"testing"
)

const imagesHead = `version: 1
image: reg.example/go@sha256:` + hex64 + `
steps: [{name: build, run: ["true"]}]
`

func TestParseImagesValid(t *testing.T) {
	def, err := ParseDefinition("slsabox.yaml", []byte(imagesHead+`images:
  - name: registry.example.com/acme/hello
    base: scratch
    files:
      - {src: /out/hello, dst: /hello, mode: "0755"}
      - {src: /out/README, dst: /usr/share/doc/README}
    entrypoint: [/hello]
    env: {GREETING: hi}
    user: "65532:65532"
    labels: {org.opencontainers.image.source: "https://example.com/acme"}
    platform: linux/arm64/v8
  - name: localhost:5000/xy
    layout: /out/oci
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(def.Outputs) != 0 || len(def.Images) != 2 {
		t.Fatalf("outputs %v, images %+v", def.Outputs, def.Images)
	}
	a := def.Images[0]
	if a.Name != "registry.example.com/acme/hello" || a.Layout != "" || len(a.Files) != 2 || a.Files[0].Mode != 0o755 || a.Files[1].Mode != 0 ||
		a.Entrypoint[0] != "/hello" || a.Env[0] != (EnvVar{"GREETING", "hi"}) || a.User != "65532:65532" ||
		a.Labels["org.opencontainers.image.source"] == "" || a.Platform != (Platform{"linux", "arm64", "v8"}) {
		t.Errorf("assembled image = %+v", a)
	}
	if b := def.Images[1]; b.Layout != "/out/oci" || b.Platform.String() != "linux/amd64" {
		t.Errorf("layout image = %+v", b)
	}
}

func TestParseImagesErrors(t *testing.T) {
	for _, tc := range []struct {
		name, images, want string
	}{
		{"tag", "- {name: registry.example.com/acme/hello:1, layout: /out/i}", "has a tag"},
		{"digest", "- {name: registry.example.com/acme/hello@sha256:" + hex64 + ", layout: /out/i}", "has a digest"},
		{"no registry", "- {name: acme/hello, layout: /out/i}", "does not start with a registry host"},
		{"docker hub short", "- {name: hello, layout: /out/i}", "does not start with a registry host"},
		{"uppercase", "- {name: registry.example.com/Acme/hello, layout: /out/i}", "uppercase"},
		{"bad chars", "- {name: 'registry.example.com/acme/he llo', layout: /out/i}", "is not a valid repository name"},
		{"no name", "- {layout: /out/i}", `missing the required key "name"`},
		{"no source", "- {name: r.example/ab}", "neither layout: nor files:"},
		{"both sources", "- {name: r.example/ab, layout: /out/i, files: [{src: /out/a, dst: /a}]}", "has layout: and also"},
		{"layout outside out", "- {name: r.example/ab, layout: /tmp/i}", "not a directory under /out"},
		{"layout dotdot", "- {name: r.example/ab, layout: /out/../etc}", "not a directory under /out"},
		{"layout is out", "- {name: r.example/ab, layout: /out}", "not a directory under /out"},
		{"unpinned registry base", "- {name: r.example/ab, base: 'r.example/base:1', files: [{src: /out/a, dst: /a}]}", "not pinned by digest"},
		{"unpinned base", "- {name: r.example/ab, base: 'oci-archive:base.tar', files: [{src: /out/a, dst: /a}]}", "not pinned by digest"},
		{"src outside out", "- {name: r.example/ab, files: [{src: /etc/passwd, dst: /a}]}", "not a file under /out"},
		{"dst relative", "- {name: r.example/ab, files: [{src: /out/a, dst: a}]}", "not a clean absolute path"},
		{"dst root", "- {name: r.example/ab, files: [{src: /out/a, dst: /}]}", "not a clean absolute path"},
		{"dst twice", "- {name: r.example/ab, files: [{src: /out/a, dst: /a}, {src: /out/b, dst: /a}]}", "used twice"},
		{"setuid mode", "- {name: r.example/ab, files: [{src: /out/a, dst: /a, mode: '4755'}]}", "not an octal mode"},
		{"decimal mode", "- {name: r.example/ab, files: [{src: /out/a, dst: /a, mode: '0999'}]}", "not an octal mode"},
		{"empty files", "- {name: r.example/ab, files: []}", "files is empty"},
		{"bad platform", "- {name: r.example/ab, layout: /out/i, platform: linux}", "not OS/ARCH"},
		{"bad user", "- {name: r.example/ab, files: [{src: /out/a, dst: /a}], user: 'a b'}", "not a user"},
		{"bad env", "- {name: r.example/ab, files: [{src: /out/a, dst: /a}], env: {1A: b}}", "key \"1A\" is not valid"},
		{"unknown key", "- {name: r.example/ab, layout: /out/i, tag: v1}", `unknown key "tag"`},
		{"same name", "- {name: r.example/ab, layout: /out/i}\n  - {name: r.example/ab, layout: /out/j}", "two images are named"},
		{"same directory", "- {name: r.example/ab_c, layout: /out/i}\n  - {name: r.example/ab/c, layout: /out/j}", "same directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseDefinition("slsabox.yaml", []byte(imagesHead+"images:\n  "+tc.images+"\n"))
			if !errors.Is(err, ErrInvalidDefinition) || !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("err = %v, want ErrInvalidDefinition", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	// Without images, outputs stays required.
	if _, err := ParseDefinition("slsabox.yaml", []byte(imagesHead)); err == nil || !strings.Contains(err.Error(), `"outputs"`) {
		t.Fatalf("no outputs, no images: err = %v", err)
	}
}

func TestParseImagesBase(t *testing.T) {
	def, err := ParseDefinition("/p/slsabox.yaml", []byte(imagesHead+`images:
  - name: registry.example.com/acme/hello
    base: oci-archive:images/base.tar@sha256:`+hex64+`
    files: [{src: /out/hello, dst: /hello}]
`))
	if err != nil {
		t.Fatal(err)
	}
	if b := def.Images[0].Base; b == nil || b.Archive != "/p/images/base.tar" || b.Digest != "sha256:"+hex64 {
		t.Fatalf("base = %+v", b)
	}
	def, err = ParseDefinition("/p/slsabox.yaml", []byte(imagesHead+`images:
  - name: registry.example.com/acme/hello
    base: gcr.io/distroless/static:nonroot@sha256:`+hex64+`
    files: [{src: /out/hello, dst: /hello}]
`))
	if err != nil {
		t.Fatal(err)
	}
	if b := def.Images[0].Base; b == nil || b.Archive != "" || b.Name != "gcr.io/distroless/static:nonroot" || b.Digest != "sha256:"+hex64 {
		t.Fatalf("registry base = %+v", b)
	}
}

// TestParseImagesDockerHub: a Docker Hub name is written docker.io/..., which
// go-containerregistry normalizes to index.docker.io; both are accepted as written.
func TestParseImagesDockerHub(t *testing.T) {
	for _, n := range []string{"docker.io/library/hello", "docker.io/acme/hello", "index.docker.io/acme/hello"} {
		def, err := ParseDefinition("/p/slsabox.yaml", []byte(imagesHead+`images:
  - name: `+n+`
    files: [{src: /out/hello, dst: /hello}]
`))
		if err != nil {
			t.Errorf("%s: %v", n, err)
			continue
		}
		if def.Images[0].Name != n {
			t.Errorf("name %q, want %q as written", def.Images[0].Name, n)
		}
	}
}
