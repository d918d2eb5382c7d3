//go:build !slsabox_verifyonly

package main

import (
	"testing"

	"github.com/slsabox/slsabox/builder"
)

// TestDescribeBuild: what the builder reports reaches the provenance's description,
// with git's remote made canonical (no credentials) unless the CI names the source,
// and a -f file outside the built directory recorded by its absolute path, not
// joined onto source.path as if it were in the repository.
func TestDescribeBuild(t *testing.T) {
	res := &builder.Result{
		Definition: builder.DefinitionInfo{Path: "slsabox.yaml", SHA256: "d", Content: "version: 1\n"},
		Source: &builder.Source{RepoRoot: "/work/repo", Subdir: "examples/hello-go", Commit: "c", Ref: "refs/heads/main",
			RemoteURL: "https://user:token@github.com/o/r.git", Dirty: true},
		Image:    &builder.ResolvedImage{Ref: "img@sha256:a", Digest: "sha256:a", Platform: "linux/amd64"},
		Subjects: []builder.Subject{{Name: "hello", SHA256: "1", Size: 3}},
		Inputs:   []builder.ResolvedInput{{Name: "m@v1", URI: "pkg:golang/m@v1", Digest: map[string]string{"dirHash": "2"}, GoSum: "h1:x", Path: "/inputs/gomod"}},
		Sandbox:  builder.Sandbox{UID: 48213, Network: "none"},
		Runtime:  builder.Runtime{Containerd: "1.6.20", Snapshotter: "overlayfs"},
	}
	b := describeBuild(res, "", "")
	if b.Source.URI != "git+https://github.com/o/r" || b.Source.Ref != "refs/heads/main" || b.Source.Path != "examples/hello-go" ||
		b.Source.Commit != "c" || !b.Source.Dirty {
		t.Errorf("source = %+v", b.Source)
	}
	if b.Definition.Path != "examples/hello-go/slsabox.yaml" {
		t.Errorf("definition path = %q", b.Definition.Path)
	}
	if b.Image.Digest != "sha256:a" || b.Image.Platform != "linux/amd64" || b.Sandbox.UID != 48213 || b.Runtime.Containerd != "1.6.20" {
		t.Errorf("image, sandbox or runtime lost: %+v %+v %+v", b.Image, b.Sandbox, b.Runtime)
	}
	if len(b.Subjects) != 1 || b.Subjects[0].SHA256 != "1" || len(b.Inputs) != 1 || b.Inputs[0].GoSum != "h1:x" {
		t.Errorf("subjects or inputs lost: %+v %+v", b.Subjects, b.Inputs)
	}

	b = describeBuild(res, "git+https://github.com/ci/named", "refs/tags/v1")
	if b.Source.URI != "git+https://github.com/ci/named" || b.Source.Ref != "refs/tags/v1" {
		t.Errorf("the CI's source was not used: %+v", b.Source)
	}

	res.Definition.Path = "/tmp/x.yaml"
	if b := describeBuild(res, "", ""); b.Definition.Path != "/tmp/x.yaml" {
		t.Errorf("definition outside the repository = %q, want /tmp/x.yaml", b.Definition.Path)
	}
}

// TestDescribeBuildImages: an image is a subject named by the image name, with the
// manifest digest, after the files; rebuild compares it like a file.
func TestDescribeBuildImages(t *testing.T) {
	res := &builder.Result{
		Source:   &builder.Source{Commit: "c"},
		Subjects: []builder.Subject{{Name: "hello", SHA256: "1"}},
		Images:   []builder.ImageSubject{{Name: "registry.example.com/acme/hello", Digest: "sha256:2", Layout: "images/x"}},
	}
	b := describeBuild(res, "", "")
	if len(b.Subjects) != 2 || b.Subjects[1].Name != "registry.example.com/acme/hello" || b.Subjects[1].SHA256 != "2" {
		t.Fatalf("subjects = %+v", b.Subjects)
	}
	res.Images[0].Digest = "sha256:3"
	got, ok := compareSubjects(b.Subjects, describeBuild(res, "", "").Subjects)
	if ok || !got[0].Match || got[1].Match {
		t.Errorf("another image digest: %+v, reproduced %v", got, ok)
	}
}
