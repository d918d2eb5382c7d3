//go:build integration

package main

import (
	"context"
	"crypto"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature/kms/cliplugin"

	"github.com/slsabox/slsabox/internal/testenv"
)

// TestKMSPlugin signs a real build with a key held in a KMS: local-kms (an AWS KMS
// server, installed by scripts/tools.sh) on 127.0.0.1, reached by the awskms:// plugin
// of cmd/sigstore-kms-awskms through sigstore's plugin protocol, the way slsabox runs
// it for users. The key is created through the plugin too. The bundle must verify
// with slsabox against the KMS key (its public key read through the plugin) and with
// cosign, whose own AWS provider reads the key from the same server.
func TestKMSPlugin(t *testing.T) {
	testenv.Containerd(t)
	img := testenv.Image(t, "testbox.tar")
	localKMS := testenv.Tool(t, "local-kms")

	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "sigstore-kms-awskms"), "../sigstore-kms-awskms")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the plugin: %v\n%s", err, out)
	}

	port := freePort(t)
	kmsd := exec.Command(localKMS)
	kmsd.Env = append(os.Environ(), "PORT="+port, "KMS_DATA_PATH="+t.TempDir(), "KMS_SEED_PATH=/nonexistent")
	logf, err := os.Create(filepath.Join(t.TempDir(), "local-kms.log"))
	if err != nil {
		t.Fatal(err)
	}
	kmsd.Stdout, kmsd.Stderr = logf, logf
	if err := kmsd.Start(); err != nil {
		t.Fatalf("starting local-kms: %v", err)
	}
	t.Cleanup(func() { kmsd.Process.Kill(); kmsd.Wait() })
	waitPort(t, "127.0.0.1:"+port)

	// What the plugin (and cosign) read: the endpoint and dummy credentials.
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("AWS_ENDPOINT_URL_KMS", "http://127.0.0.1:"+port)
	t.Setenv("AWS_REGION", "eu-west-2")
	t.Setenv("AWS_ACCESS_KEY_ID", "slsabox-test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "slsabox-test")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	const key = "awskms:///alias/slsabox-release"

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sv, err := cliplugin.LoadSignerVerifier(ctx, key, crypto.SHA256)
	if err != nil {
		t.Fatalf("loading the plugin: %v", err)
	}
	if _, err := sv.CreateKey(ctx, "ECC_NIST_P256"); err != nil {
		t.Fatalf("creating the key through the plugin: %v\nlocal-kms log: %s", err, readFile(filepath.Join(filepath.Dir(logf.Name()), "local-kms.log")))
	}

	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "slsabox.yaml"), []byte("version: 1\nimage: "+img+
		"\nsteps: [{name: a, run: [sh, -c, 'echo kms > /out/x']}]\noutputs: [/out/*]\n"), 0o644)
	gitInitCommit(t, dir)
	out := filepath.Join(t.TempDir(), "o")
	_, stderr, code := slsabox(t, "build", dir, "--key", key, "--no-tlog", "-o", out)
	if code != 0 {
		t.Fatalf("slsabox build --key %s exited %d:\n%s", key, code, stderr)
	}
	bundle := filepath.Join(out, "provenance.sigstore.json")
	artifact := filepath.Join(out, "x")

	// slsabox reads the public key through the plugin.
	_, stderr, code = slsabox(t, "verify", artifact, "--bundle", bundle, "--key", key,
		"--no-tlog-unsafe", "--builder-id", defaultBuilderID, "--allow-any-source-unsafe")
	if code != 0 {
		t.Fatalf("slsabox verify --key %s exited %d:\n%s", key, code, stderr)
	}

	// The peer: cosign's own AWS provider, against the same server.
	cosign := testenv.Tool(t, "cosign")
	vout, err := exec.Command(cosign, "verify-blob-attestation", "--key", key, "--bundle", bundle,
		"--type", "slsaprovenance1", "--insecure-ignore-tlog", artifact).CombinedOutput()
	if err != nil || !strings.Contains(string(vout), "Verified OK") {
		t.Fatalf("cosign rejects the KMS-signed bundle: %v\n%s", err, vout)
	}
	other := filepath.Join(t.TempDir(), "other")
	os.WriteFile(other, []byte("not the artifact"), 0o644)
	if vout, err := exec.Command(cosign, "verify-blob-attestation", "--key", key, "--bundle", bundle,
		"--type", "slsaprovenance1", "--insecure-ignore-tlog", other).CombinedOutput(); err == nil {
		t.Errorf("cosign accepted the bundle for another artifact:\n%s", vout)
	}

	// Without the plugin on PATH: exit 2 naming the program to install.
	t.Setenv("PATH", strings.TrimPrefix(os.Getenv("PATH"), bin+string(os.PathListSeparator)))
	_, stderr, code = slsabox(t, "build", dir, "--key", key, "--no-tlog", "-o", filepath.Join(t.TempDir(), "o2"))
	if code != 2 || !strings.Contains(stderr, "no KMS plugin program sigstore-kms-awskms") || !strings.Contains(stderr, "go install github.com/slsabox/slsabox/cmd/sigstore-kms-awskms") {
		t.Errorf("without the plugin: exit %d, want 2 naming the plugin:\n%s", code, stderr)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}

func waitPort(t *testing.T, addr string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
	}
	t.Fatalf("nothing listens on %s after 20 s", addr)
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}
