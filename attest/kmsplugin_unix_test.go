//go:build unix

package attest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKMSPluginTrust: slsabox runs a KMS plugin from PATH only when nobody but root,
// its own user or the owner of the running program could have written it or its
// directory; otherwise LoadSigner fails with ErrKey before running anything.
func TestKMSPluginTrust(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fileMode  os.FileMode
		dirMode   os.FileMode
		chownFile bool
		want      string
	}{
		{name: "private", fileMode: 0o755, dirMode: 0o755},
		{name: "world-writable plugin", fileMode: 0o757, dirMode: 0o755, want: "writable by its group or by others"},
		{name: "group-writable directory", fileMode: 0o755, dirMode: 0o775, want: "writable by its group or by others"},
		{name: "another user's plugin", fileMode: 0o755, dirMode: 0o755, chownFile: true, want: "owned by uid 54321"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.chownFile && os.Geteuid() != 0 {
				t.Skip("chown needs root")
			}
			dir := filepath.Join(t.TempDir(), "bin")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			// A plugin that answers nothing: the trust check comes before any run.
			p := filepath.Join(dir, "sigstore-kms-slsaboxtest")
			if err := os.WriteFile(p, []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			if tc.chownFile {
				if err := os.Chown(p, 54321, 54321); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Chmod(p, tc.fileMode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, tc.dirMode); err != nil {
				t.Fatal(err)
			}
			t.Setenv("PATH", dir)
			got, err := findKMSPlugin("slsaboxtest")
			if tc.want == "" {
				if err != nil || got != p {
					t.Fatalf("findKMSPlugin = %q, %v; want %s", got, err, p)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if _, err := LoadSigner(context.Background(), "slsaboxtest://key"); !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), "refusing to run the KMS plugin") {
				t.Errorf("LoadSigner: %v, want ErrKey refusing the plugin", err)
			}
		})
	}
}

// TestKMSPluginLookup: the plugin is found beside nothing here (the test binary's
// directory has none), in absolute PATH directories only, and a parent directory that
// others can write, or a symlink into one, is refused; a missing plugin is ErrKey with
// the install hint.
func TestKMSPluginLookup(t *testing.T) {
	base := t.TempDir()
	open := filepath.Join(base, "open")
	if err := os.MkdirAll(filepath.Join(open, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	inOpen := filepath.Join(open, "bin", "sigstore-kms-slsaboxtest")
	if err := os.WriteFile(inOpen, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", filepath.Join(open, "bin"))
	if _, err := findKMSPlugin("slsaboxtest"); err == nil || !strings.Contains(err.Error(), "writable by its group or by others") {
		t.Errorf("a plugin under a world-writable directory: %v", err)
	}

	// A relative PATH entry is skipped, even where it names a good plugin.
	good := filepath.Join(base, "good")
	if err := os.Mkdir(good, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(good, "sigstore-kms-slsaboxtest"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(base)
	t.Setenv("PATH", "good")
	if _, err := findKMSPlugin("slsaboxtest"); !errors.Is(err, errNoPlugin) {
		t.Errorf("a relative PATH entry was used: %v", err)
	}
	_, err := LoadSigner(context.Background(), "awskms:///alias/release")
	if !errors.Is(err, ErrKey) || !strings.Contains(hintOf(err), "go install github.com/slsabox/slsabox/cmd/sigstore-kms-awskms") {
		t.Errorf("missing awskms plugin: %v (hint %q)", err, hintOf(err))
	}
	if _, err := LoadSigner(context.Background(), "Bad/Scheme://x"); !errors.Is(err, ErrKey) {
		t.Errorf("a scheme with a slash: %v", err)
	}
}

func hintOf(err error) string {
	var h interface{ Hint() string }
	if errors.As(err, &h) {
		return h.Hint()
	}
	return ""
}
