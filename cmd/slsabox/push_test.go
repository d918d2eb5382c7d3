package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPushUsage checks what slsabox push and build --push refuse before any registry
// or containerd is needed.
func TestPushUsage(t *testing.T) {
	out := t.TempDir()
	bundle := filepath.Join(out, "provenance.sigstore.json")
	if err := os.WriteFile(bundle, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	noImages := filepath.Join(t.TempDir(), "provenance.sigstore.json")
	if err := os.WriteFile(noImages, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A layout that names no image.
	if err := os.MkdirAll(filepath.Join(out, "images", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "images", "x", "index.json"), []byte(`{"manifests":[{"digest":"sha256:00"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"push"}, "--bundle is required"},
		{[]string{"push", "--bundle", noImages}, "reading the images of the build"},
		{[]string{"push", "--bundle", bundle}, "naming the image"},
		{[]string{"build", "--push", "--unsigned"}, "--push conflicts with --unsigned"},
		{[]string{"build", "--registry", "127.0.0.1:5000", "--key", "k"}, "--registry needs --push"},
		{[]string{"build", "--tag", "v1", "--key", "k"}, "--tag needs --push"},
		{[]string{"build", "--push", "--tag", "-bad", "--key", "k"}, `tag "-bad"`},
		{[]string{"build", "--push", "--registry", "http://127.0.0.1:5000", "--key", "k"}, "registry"},
	} {
		if c.args[0] == "build" && buildKind != "full" {
			continue // the verify-only build has no build (TestVerifyOnlyBinary)
		}
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), c.args, &stdout, &stderr)
		if code != exitUsage || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("slsabox %s: exit %d, want 2 with %q:\n%s", strings.Join(c.args, " "), code, c.want, stderr.String())
		}
	}
}
