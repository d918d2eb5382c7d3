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
		{name: "world-writable plugin", fileMode: 0o757, dirMode: 0o755, want: "writable by other users"},
		{name: "group-writable directory", fileMode: 0o755, dirMode: 0o775, want: "writable by other users"},
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
			err := checkKMSPlugin("slsaboxtest")
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused a private plugin: %v", err)
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
