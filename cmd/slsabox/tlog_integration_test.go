//go:build integration

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/slsabox/slsabox/attest"
	"github.com/slsabox/slsabox/internal/testenv"
)

// tlogProject commits a one-step project on the test image.
func tlogProject(t *testing.T) string {
	t.Helper()
	img := testenv.Image(t, "testbox.tar")
	dir := t.TempDir()
	def := "version: 1\nimage: " + img + "\nsteps: [{name: a, run: [sh, -c, 'echo logged-artifact > /out/artifact']}]\noutputs: [/out/*]\n"
	os.WriteFile(filepath.Join(dir, "slsabox.yaml"), []byte(def), 0o644)
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "x"}} {
		if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %s", args, out)
		}
	}
	return dir
}

type provJSON struct {
	Provenance struct {
		Bundle   string `json:"bundle"`
		Logged   bool   `json:"logged"`
		LogIndex int64  `json:"logIndex"`
	} `json:"provenance"`
}

// verifyOffline checks a logged bundle with sigstore-go: the signature with the public
// key, the inclusion proof and checkpoint with the log key from the trusted root.
func verifyOffline(t *testing.T, b *bundle.Bundle, pubPEM []byte, trustedRoot string, artifact []byte) error {
	t.Helper()
	tr, err := root.NewTrustedRootFromPath(trustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := signature.LoadDefaultVerifier(pub)
	keys := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
		return root.NewExpiringKey(v, time.Time{}, time.Time{}), nil
	})
	sev, err := verify.NewVerifier(root.TrustedMaterialCollection{tr, keys}, verify.WithTransparencyLog(1), verify.WithCurrentTime())
	if err != nil {
		t.Fatal(err)
	}
	_, err = sev.Verify(b, verify.NewPolicy(verify.WithArtifact(bytes.NewReader(artifact)), verify.WithKey()))
	return err
}

func TestTlogLoggedBundleVerifiesOffline(t *testing.T) {
	testenv.Containerd(t)
	url, trustedRoot := testenv.Rekor(t)
	key := keygen(t)
	project := tlogProject(t)
	// A first entry, so that the one checked below has a proof with sibling hashes.
	first := filepath.Join(t.TempDir(), "first")
	if _, stderr, code := slsabox(t, "build", project, "-o", first, "--key", key+".key", "--rekor-url", url, "--rekor-version", rekorVersion()); code != 0 {
		t.Fatalf("build exited %d:\n%s", code, stderr)
	}
	out := filepath.Join(t.TempDir(), "out")
	stdout, stderr, code := slsabox(t, "build", project, "-o", out, "--key", key+".key", "--rekor-url", url, "--rekor-version", rekorVersion(), "--output", "json")
	if code != 0 {
		t.Fatalf("build exited %d:\n%s", code, stderr)
	}
	var p provJSON
	if err := json.Unmarshal([]byte(stdout), &p); err != nil || !p.Provenance.Logged {
		t.Fatalf("not logged: %v\n%s", err, stdout)
	}
	bundlePath := filepath.Join(out, attest.BundleFile)
	data, _ := os.ReadFile(bundlePath)
	b, err := attest.ParseBundle(data)
	if err != nil {
		t.Fatal(err)
	}
	artifact, _ := os.ReadFile(filepath.Join(out, "artifact"))
	pub, _ := os.ReadFile(key + ".pub")
	if err := verifyOffline(t, b, pub, trustedRoot, artifact); err != nil {
		t.Fatalf("a logged bundle does not verify offline: %v", err)
	}

	// Tampering with the proof, the checkpoint or the log key must fail verification.
	tamper := map[string]func(*bundle.Bundle){
		"inclusion proof hash": func(b *bundle.Bundle) {
			p := b.VerificationMaterial.TlogEntries[0].InclusionProof
			if len(p.Hashes) == 0 {
				t.Fatal("the proof has no hashes to tamper with")
			}
			p.Hashes[0][0] ^= 1
		},
		"checkpoint signature": func(b *bundle.Bundle) {
			cp := b.VerificationMaterial.TlogEntries[0].InclusionProof.Checkpoint
			i := strings.LastIndex(cp.Envelope, " ")
			sig := []byte(cp.Envelope[i+1:])
			sig[len(sig)/2] ^= 2
			cp.Envelope = cp.Envelope[:i+1] + string(sig)
		},
		"checkpoint root": func(b *bundle.Bundle) {
			cp := b.VerificationMaterial.TlogEntries[0].InclusionProof.Checkpoint
			lines := strings.SplitN(cp.Envelope, "\n", 4)
			lines[2] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
			cp.Envelope = strings.Join(lines, "\n")
		},
		"log index": func(b *bundle.Bundle) { b.VerificationMaterial.TlogEntries[0].LogIndex += 7 },
		// Rekor v2 verifiers rebuild the entry from the bundle's signature and key, so
		// the meaningful swap is a genuine proof of another entry.
		"another entry's proof": func(b *bundle.Bundle) {
			d, _ := os.ReadFile(filepath.Join(first, attest.BundleFile))
			o, err := attest.ParseBundle(d)
			if err != nil {
				t.Fatal(err)
			}
			b.VerificationMaterial.TlogEntries = o.VerificationMaterial.TlogEntries
		},
	}
	for name, mutate := range tamper {
		t.Run(name, func(t *testing.T) {
			c, _ := attest.ParseBundle(data)
			mutate(c)
			if err := verifyOffline(t, c, pub, trustedRoot, artifact); err == nil {
				t.Errorf("tampered %s still verifies", name)
			}
		})
	}
	t.Run("another log key", func(t *testing.T) {
		other := otherTrustedRoot(t, trustedRoot)
		if err := verifyOffline(t, b, pub, other, artifact); err == nil {
			t.Error("verified against a trusted root with another log key")
		}
	})

	// The peer: cosign accepts it with the trusted root and without --insecure-ignore-tlog.
	cosign := testenv.Tool(t, "cosign")
	cmd := exec.Command(cosign, "verify-blob-attestation", "--key", key+".pub", "--bundle", bundlePath,
		"--trusted-root", trustedRoot, "--type", "slsaprovenance1", filepath.Join(out, "artifact"))
	if o, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(o), "Verified OK") {
		t.Fatalf("cosign rejects the logged bundle: %v\n%s", err, o)
	}
	other := otherTrustedRoot(t, trustedRoot)
	cmd = exec.Command(cosign, "verify-blob-attestation", "--key", key+".pub", "--bundle", bundlePath,
		"--trusted-root", other, "--type", "slsaprovenance1", filepath.Join(out, "artifact"))
	if o, err := cmd.CombinedOutput(); err == nil {
		t.Errorf("cosign accepted the bundle with another log key in the trusted root:\n%s", o)
	}
}

// otherTrustedRoot writes a copy of the trusted root whose log key is a new one.
func otherTrustedRoot(t *testing.T, trustedRoot string) string {
	t.Helper()
	var tr map[string]any
	data, _ := os.ReadFile(trustedRoot)
	if err := json.Unmarshal(data, &tr); err != nil {
		t.Fatal(err)
	}
	_, pubPEM, _ := attest.GenerateKey(attest.ECDSAP256, nil)
	pub, _ := cryptoutils.UnmarshalPEMToPublicKey(pubPEM)
	der, _ := cryptoutils.MarshalPublicKeyToDER(pub)
	tlogs := tr["tlogs"].([]any)
	tlogs[0].(map[string]any)["publicKey"].(map[string]any)["rawBytes"] = der
	out, _ := json.Marshal(tr)
	p := filepath.Join(t.TempDir(), "other_trusted_root.json")
	os.WriteFile(p, out, 0o644)
	return p
}

// rekorVersion is the API of the log under test: 2 (scripts/rekor.sh) unless the
// optional Rekor v1 job (scripts/test-rekor-v1.sh) says 1.
func rekorVersion() string {
	if v := os.Getenv("SLSABOX_REKOR_VERSION"); v != "" {
		return v
	}
	return "2"
}

// rekorPID returns the PID of the local log (scripts/rekor.sh pid).
func rekorPID(t *testing.T, script string) int {
	t.Helper()
	out, err := exec.Command(script, "pid").Output()
	if err != nil {
		t.Fatalf("rekor.sh pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func rekor(t *testing.T, script, verb string) {
	t.Helper()
	if out, err := exec.Command(script, verb).CombinedOutput(); err != nil {
		t.Fatalf("rekor.sh %s: %v\n%s", verb, err, out)
	}
}

// TestTlogOutages runs the build against the real log while it is down, killed
// mid-upload, or too slow: the signed bundle is always kept, the build exits 3, and
// slsabox upload logs it once the log is back.
func TestTlogOutages(t *testing.T) {
	testenv.Containerd(t)
	url, trustedRoot := testenv.Rekor(t)
	script := testenv.RekorScript(t)
	key := keygen(t)
	dir := tlogProject(t)
	t.Cleanup(func() { exec.Command(script, "start").Run() })

	check := func(t *testing.T, out string, code int, stderr string) {
		t.Helper()
		if code != 3 {
			t.Fatalf("build exited %d, want 3:\n%s", code, stderr)
		}
		if !strings.Contains(stderr, "slsabox upload --bundle") {
			t.Errorf("no hint to upload later:\n%s", stderr)
		}
		bundlePath := filepath.Join(out, attest.BundleFile)
		data, err := os.ReadFile(bundlePath)
		if err != nil {
			t.Fatalf("the signed bundle was lost: %v", err)
		}
		b, err := attest.ParseBundle(data)
		if err != nil {
			t.Fatal(err)
		}
		if ok, _ := attest.Logged(b); ok {
			t.Fatal("bundle claims a log entry")
		}
		rekor(t, script, "start")
		if _, stderr, code := slsabox(t, "upload", "--bundle", bundlePath, "--key", key+".key", "--rekor-url", url, "--rekor-version", rekorVersion()); code != 0 {
			t.Fatalf("upload exited %d:\n%s", code, stderr)
		}
		data, _ = os.ReadFile(bundlePath)
		b, _ = attest.ParseBundle(data)
		artifact, _ := os.ReadFile(filepath.Join(out, "artifact"))
		pub, _ := os.ReadFile(key + ".pub")
		if err := verifyOffline(t, b, pub, trustedRoot, artifact); err != nil {
			t.Fatalf("uploaded bundle does not verify: %v", err)
		}
		_, stderr2, code := slsabox(t, "upload", "--bundle", bundlePath, "--key", key+".pub", "--rekor-url", url, "--rekor-version", rekorVersion())
		if code != 0 || !strings.Contains(stderr2, "already logged") {
			t.Errorf("second upload: exit %d\n%s", code, stderr2)
		}
		// The signed SBOM waited for the log too: kept unlogged, named in the hint,
		// logged by upload, then verified with the provenance.
		sbomPath := filepath.Join(out, attest.SBOMBundleFile)
		sdata, err := os.ReadFile(sbomPath)
		if err != nil {
			t.Fatalf("the signed SBOM was lost: %v", err)
		}
		if sb, err := attest.ParseBundle(sdata); err != nil {
			t.Fatal(err)
		} else if ok, _ := attest.Logged(sb); ok {
			t.Fatal("the SBOM bundle claims a log entry")
		}
		if !strings.Contains(stderr, "slsabox upload --bundle "+sbomPath) {
			t.Errorf("the hint does not name the SBOM's upload:\n%s", stderr)
		}
		if _, stderr, code := slsabox(t, "upload", "--bundle", sbomPath, "--key", key+".key", "--rekor-url", url, "--rekor-version", rekorVersion()); code != 0 {
			t.Fatalf("upload of the SBOM exited %d:\n%s", code, stderr)
		}
		if stdout, stderr, code := slsabox(t, "verify", filepath.Join(out, "artifact"), "--bundle", bundlePath, "--sbom", sbomPath,
			"--key", key+".pub", "--trusted-root", trustedRoot, "--allow-any-builder-unsafe", "--allow-any-source-unsafe"); code != 0 {
			t.Errorf("verify --sbom after the uploads: exit %d\n%s%s", code, stdout, stderr)
		}
	}

	t.Run("stopped before upload", func(t *testing.T) {
		rekor(t, script, "stop")
		out := filepath.Join(t.TempDir(), "out")
		_, stderr, code := slsabox(t, "build", dir, "-o", out, "--key", key+".key", "--rekor-url", url, "--rekor-version", rekorVersion(), "--rekor-attempts", "2")
		check(t, out, code, stderr)
	})
	t.Run("slow beyond the timeout", func(t *testing.T) {
		pid := rekorPID(t, script)
		syscall.Kill(pid, syscall.SIGSTOP)
		defer syscall.Kill(pid, syscall.SIGCONT)
		out := filepath.Join(t.TempDir(), "out")
		start := time.Now()
		_, stderr, code := slsabox(t, "build", dir, "-o", out, "--key", key+".key", "--rekor-url", url, "--rekor-version", rekorVersion(), "--rekor-attempts", "2", "--rekor-timeout", "2s")
		if d := time.Since(start); d > 30*time.Second {
			t.Errorf("the timeout did not bound the upload: %s", d)
		}
		syscall.Kill(pid, syscall.SIGCONT)
		check(t, out, code, stderr)
	})
	t.Run("killed during upload", func(t *testing.T) {
		pid := rekorPID(t, script)
		syscall.Kill(pid, syscall.SIGSTOP) // requests hang in the server...
		out := filepath.Join(t.TempDir(), "out")
		cmd := exec.Command(slsaboxBin, "build", dir, "-o", out, "--key", key+".key", "--rekor-url", url, "--rekor-version", rekorVersion(), "--rekor-attempts", "2", "--rekor-timeout", "5s")
		cmd.Env = append(os.Environ(), "SLSABOX_NAMESPACE=slsabox-test-cli")
		var stderr syncBuffer // written by exec's copier while the test reads it
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(60 * time.Second)
		for !strings.Contains(stderr.String(), "logging the provenance to") && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond)
		syscall.Kill(pid, syscall.SIGKILL) // ...and the server dies under them
		syscall.Kill(pid, syscall.SIGCONT)
		err := cmd.Wait()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		check(t, out, code, stderr.String())
	})
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
