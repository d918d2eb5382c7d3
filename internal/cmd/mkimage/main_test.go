package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	layer := t.TempDir()
	if err := os.WriteFile(filepath.Join(layer, "hello"), []byte("hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "img.tar")
	tests := []struct {
		name     string
		args     []string
		epoch    string
		wantCode int
		wantOut  string // regexp
		wantErr  string
	}{
		{"ok", []string{"-o", out, "--ref", "slsabox.test/x:1", "--env", "PATH=/bin", "--cmd", "/hello", "--mountpoints", layer}, "",
			0, `^oci-archive:` + regexp.QuoteMeta(out) + `@sha256:[0-9a-f]{64}\n$`, ""},
		{"epoch", []string{"-o", out, layer}, "1700000000", 0, `^oci-archive:`, ""},
		{"no output", []string{layer}, "", 2, `^$`, "missing -o"},
		{"no layers", []string{"-o", out}, "", 2, `^$`, "no layers"},
		{"flag after layer", []string{"-o", out, layer, "--mountpoints"}, "", 2, `^$`, "put flags before the layers"},
		{"bad epoch", []string{"-o", out, layer}, "yesterday", 1, `^$`, "SOURCE_DATE_EPOCH"},
		{"bad env", []string{"-o", out, "--env", "X", layer}, "", 1, `^$`, "mkimage: error: invalid image options: env \"X\""},
		{"missing layer", []string{"-o", out, filepath.Join(layer, "nope")}, "", 1, `^$`, "pass an existing directory or tar file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("SOURCE_DATE_EPOCH", tt.epoch)
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.wantCode, stderr.String())
			}
			if !regexp.MustCompile(tt.wantOut).MatchString(stdout.String()) {
				t.Errorf("stdout = %q, want %s", stdout.String(), tt.wantOut)
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tt.wantErr)
			}
		})
	}
}
