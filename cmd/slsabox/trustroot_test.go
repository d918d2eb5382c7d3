package main

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestVerifyTrustRootFallback runs slsabox verify with the default trust root where
// no TUF repository answers: it falls back with a warning naming the root used, or,
// for a private instance with nothing cached, stops with exit 3. The bundle is
// missing, so each run ends at exit 2 once the trust material is loaded.
func TestVerifyTrustRootFallback(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	dir := t.TempDir()
	prefix := filepath.Join(dir, "k")
	var so, se bytes.Buffer
	if code := run(context.Background(), []string{"keygen", "--out", prefix}, &so, &se); code != 0 {
		t.Fatalf("keygen: %d %s", code, se.String())
	}
	// The suite's environment (scripts/test.sh) names the local log's root; each case
	// says its own.
	for _, v := range []string{"SLSABOX_TRUSTED_ROOT", "SLSABOX_TUF_MIRROR", "SLSABOX_TUF_ROOT", "SLSABOX_OFFLINE"} {
		t.Setenv(v, "")
	}
	t.Setenv("SLSABOX_TUF_CACHE", filepath.Join(dir, "cache"))
	base := []string{"verify", "--digest", "sha256:" + strings.Repeat("a", 64), "--bundle", filepath.Join(dir, "missing.json"),
		"--key", prefix + ".pub", "--builder-id", "https://b", "--source-uri", "git+https://s"}
	anchor := filepath.Join("..", "..", "attest", "verify", "trustroot", "publicgood_tuf_root.json")
	for _, tt := range []struct {
		name    string
		args    []string
		env     string
		rootEnv string // SLSABOX_TRUSTED_ROOT
		code    int
		want    []string
	}{
		{"offline", []string{"--offline"}, "", "", exitUsage, []string{"warning: using Sigstore public-good (embedded", "offline"}},
		{"offline by env", nil, "1", "", exitUsage, []string{"warning: using Sigstore public-good (embedded", "offline"}},
		{"bad env", nil, "maybe", "", exitUsage, []string{"SLSABOX_OFFLINE"}},
		// --offline=false on the command line beats SLSABOX_OFFLINE=1.
		{"online flag over env", []string{"--offline=false", "--tuf-mirror", closed}, "1", "", exitUsage, []string{"not refreshed", "connection refused"}},
		{"mirror down", []string{"--tuf-mirror", closed}, "", "", exitUsage, []string{"warning: using Sigstore public-good (embedded", "not refreshed", "connection refused"}},
		// A --tuf-* flag on the command line beats the environment's default root.
		{"mirror flag over SLSABOX_TRUSTED_ROOT", []string{"--tuf-mirror", closed}, "", filepath.Join(dir, "no-such-root.json"), exitUsage, []string{"warning: using Sigstore public-good (embedded", "not refreshed"}},
		{"private instance down", []string{"--tuf-mirror", closed, "--tuf-root", anchor}, "", "", exitEnvironment, []string{"no trusted root for the TUF repository", "hint:"}},
		{"trusted root and mirror", []string{"--tuf-mirror", closed, "--trusted-root", anchor}, "", "", exitUsage, []string{"--tuf-mirror conflicts with --trusted-root"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("SLSABOX_OFFLINE", tt.env)
			t.Setenv("SLSABOX_TRUSTED_ROOT", tt.rootEnv)
			var stdout, stderr bytes.Buffer
			start := time.Now()
			code := run(context.Background(), append(append([]string(nil), base...), tt.args...), &stdout, &stderr)
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %s", d)
			}
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr %q", code, tt.code, stderr.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr %q does not say %q", stderr.String(), w)
				}
			}
		})
	}
}
