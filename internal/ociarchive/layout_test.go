package ociarchive

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeTestLayout(t *testing.T, files []File, opts Options) (*Result, string) {
	t.Helper()
	dir := t.TempDir()
	res, err := WriteLayout(context.Background(), dir, files, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res, dir
}

// TestWriteLayoutIsDeterministic: the same files and options give the same manifest
// digest in another directory, with other host mtimes; another epoch gives another.
func TestWriteLayoutIsDeterministic(t *testing.T) {
	src := filepath.Join(t.TempDir(), "hello")
	if err := os.WriteFile(src, []byte("#!/bin/true\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	files := []File{{Path: "/app/hello", Source: src, Mode: 0o755}}
	opts := Options{Epoch: 1700000000, Entrypoint: []string{"/app/hello"}, User: "65532:65532",
		Labels: map[string]string{"b": "2", "a": "1"}, Env: []string{"A=b"}, Platform: Platform{OS: "linux", Architecture: "amd64"}}
	a, dirA := writeTestLayout(t, files, opts)
	if err := os.Chtimes(src, time.Unix(1, 0), time.Unix(1, 0)); err != nil {
		t.Fatal(err)
	}
	b, _ := writeTestLayout(t, files, opts)
	if a.Manifest.Digest != b.Manifest.Digest {
		t.Fatalf("two writes differ: %s, %s", a.Manifest.Digest, b.Manifest.Digest)
	}
	opts.Epoch++
	if c, _ := writeTestLayout(t, files, opts); c.Manifest.Digest == a.Manifest.Digest {
		t.Fatal("another epoch gave the same manifest digest")
	}
	// Every blob is where its digest says, with that content.
	for _, d := range append([]Descriptor{a.Manifest, a.Config}, a.Layers...) {
		data, err := os.ReadFile(filepath.Join(dirA, "blobs", "sha256", strings.TrimPrefix(d.Digest, "sha256:")))
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("sha256:%x", sha256.Sum256(data)); got != d.Digest || int64(len(data)) != d.Size {
			t.Errorf("blob %s: content has %s, %d bytes", d.Digest, got, len(data))
		}
	}
	cfg, _ := os.ReadFile(filepath.Join(dirA, "blobs", "sha256", strings.TrimPrefix(a.Config.Digest, "sha256:")))
	for _, want := range []string{`"User":"65532:65532"`, `"Entrypoint":["/app/hello"]`, `"Labels":{"a":"1","b":"2"}`, `"created":"2023-11-14T22:13:20Z"`} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("config %s lacks %s", cfg, want)
		}
	}
	if ents, _ := os.ReadDir(dirA); len(ents) != 3 {
		t.Errorf("layout holds %d entries, want blobs, index.json, oci-layout", len(ents))
	}
}

func TestWriteLayoutRefuses(t *testing.T) {
	tmp := t.TempDir()
	reg := filepath.Join(tmp, "f")
	if err := os.WriteFile(reg, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	lnk := filepath.Join(tmp, "l")
	if err := os.Symlink("/etc/passwd", lnk); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		f    File
		want error
	}{
		{"relative path", File{Path: "app", Source: reg, Mode: 0o644}, errInvalidOptions},
		{"root", File{Path: "/", Source: reg, Mode: 0o644}, errInvalidOptions},
		{"dotdot", File{Path: "/a/../../b", Source: reg, Mode: 0o644}, errInvalidOptions},
		{"setuid", File{Path: "/a", Source: reg, Mode: 0o4755}, errInvalidOptions},
		{"symlink source", File{Path: "/a", Source: lnk, Mode: 0o644}, errInvalidLayer},
		{"directory source", File{Path: "/a", Source: tmp, Mode: 0o644}, errInvalidLayer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := WriteLayout(context.Background(), t.TempDir(), []File{tc.f}, Options{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	_, err := WriteLayout(context.Background(), t.TempDir(), []File{{Path: "/a", Source: reg, Mode: 0o644}, {Path: "/a", Source: reg, Mode: 0o644}}, Options{})
	if !errors.Is(err, errUnsafeEntry) {
		t.Fatalf("duplicate path: err = %v", err)
	}
}
