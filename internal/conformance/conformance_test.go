package conformance

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// What the suite's harness passes when a case names no identity or issuer
// (test/client.py at the pinned commit).
const (
	defaultIdentity = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
	defaultIssuer   = "https://token.actions.githubusercontent.com"
	casesDir        = "testdata/bundle-verify"
)

// notPassing lists the cases slsabox does not pass, each with the reason that
// docs/conformance.md gives. It is empty: every case passes. A case added here must
// then fail, so that a newly passing case is noticed too.
var notPassing = map[string]string{}

// failsAsConfiguration lists the _fail cases that slsabox refuses before looking at
// the bundle, because the trust material itself is refused (exit 2, not 1): the
// expected outcome, but for a reason to keep in sight.
var failsAsConfiguration = map[string]string{
	"managed-key-wrong-key_fail":                  "key.pub is not a valid P-256 public key (its point is not on the curve)",
	"trust-root-tlog-missing-validity-start_fail": "sigstore-go refuses a trusted root whose log key has no validity start",
}

// TestVendoredData checks every vendored file against MANIFEST: same bytes as at
// the pinned commit, none missing, none unlisted.
func TestVendoredData(t *testing.T) {
	f, err := os.Open("testdata/MANIFEST")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	listed := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		sum, upstream, ok := strings.Cut(line, "  ")
		rel, under := strings.CutPrefix(upstream, "test/assets/")
		if !ok || !under || len(sum) != 64 {
			t.Fatalf("MANIFEST line %q: want SHA256, two spaces, test/assets/PATH", line)
		}
		data, err := os.ReadFile(filepath.Join("testdata", rel))
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		if got := sha256.Sum256(data); hex.EncodeToString(got[:]) != sum {
			t.Errorf("%s: sha256 %x, MANIFEST says %s (vendored data must be the upstream bytes)", rel, got, sum)
		}
		listed[rel] = true
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(casesDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel("testdata", path)
		if !listed[filepath.ToSlash(rel)] {
			t.Errorf("%s is vendored but not in MANIFEST", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) < 100 {
		t.Errorf("MANIFEST lists %d files: the bundle-verify cases are missing", len(listed))
	}
}

// caseArgs builds the verify-bundle arguments the suite's harness passes for a case
// directory (BundleMaterials.from_dir and build_verify_args in test/client.py),
// with the artifact as a path or as its sha256: digest.
func caseArgs(t *testing.T, dir string, digest bool) []string {
	t.Helper()
	exists := func(name string) bool { _, err := os.Stat(filepath.Join(dir, name)); return err == nil }
	read := func(name, def string) string {
		if !exists(name) {
			return def
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(data))
	}
	args := []string{"verify-bundle", "--bundle", filepath.Join(dir, "bundle.sigstore.json")}
	if exists("key.pub") {
		args = append(args, "--key", filepath.Join(dir, "key.pub"))
	} else {
		args = append(args, "--certificate-identity", read("identity", defaultIdentity),
			"--certificate-oidc-issuer", read("issuer", defaultIssuer))
	}
	if exists("trusted_root.json") {
		args = append(args, "--trusted-root", filepath.Join(dir, "trusted_root.json"))
	}
	artifact := filepath.Join(casesDir, "a.txt")
	if exists("artifact") {
		artifact = filepath.Join(dir, "artifact")
	}
	if !digest {
		return append(args, artifact)
	}
	data, err := os.ReadFile(artifact)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return append(args, "sha256:"+hex.EncodeToString(sum[:]))
}

// TestBundleVerify runs every vendored bundle-verify case as the suite would, twice
// (the artifact's path, then its digest): a case passes when verification succeeds,
// or fails for a case named *_fail.
func TestBundleVerify(t *testing.T) {
	entries, err := os.ReadDir(casesDir)
	if err != nil {
		t.Fatal(err)
	}
	var cases []string
	for _, e := range entries {
		if e.IsDir() {
			cases = append(cases, e.Name())
		}
	}
	if len(cases) < 60 {
		t.Fatalf("%d cases in %s: the vendored data is incomplete", len(cases), casesDir)
	}
	for name := range notPassing {
		if !slices.Contains(cases, name) {
			t.Errorf("notPassing names %s, which is not a case", name)
		}
	}
	for _, name := range cases {
		for _, digest := range []bool{false, true} {
			input := "path"
			if digest {
				input = "digest"
			}
			t.Run(name+"/"+input, func(t *testing.T) {
				var stdout, stderr bytes.Buffer
				code := Run(caseArgs(t, filepath.Join(casesDir, name), digest), &stdout, &stderr)
				wantFail := strings.HasSuffix(name, "_fail")
				passed := (code == 0) != wantFail
				if reason, listed := notPassing[name]; listed {
					if passed {
						t.Errorf("now passes (exit %d), but notPassing lists it (%s): remove it there and in docs/conformance.md", code, reason)
					}
					return
				}
				if !passed {
					t.Errorf("exit %d, want %s\nstdout:\n%s\nstderr:\n%s", code, map[bool]string{true: "a failure", false: "0"}[wantFail], &stdout, &stderr)
					return
				}
				wantCode := 1
				if _, ok := failsAsConfiguration[name]; ok {
					wantCode = 2
				}
				if wantFail && code != wantCode {
					t.Errorf("failed with exit %d, want %d (1: the bundle is refused; 2: the trust material is)\nstderr:\n%s", code, wantCode, &stderr)
				}
			})
		}
	}
}

// caseBundle is a case's bundle as JSON, for a test to change.
func caseBundle(t *testing.T, dir string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "bundle.sigstore.json"))
	if err != nil {
		t.Fatal(err)
	}
	var b map[string]any
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPromiseOnlyV01 verifies a v0.1 bundle holding only the log's signed inclusion
// promise (older clients wrote them; no vendored case does): the happy v0.1 case
// without its inclusion proof. The same bundle with the promise altered fails.
func TestPromiseOnlyV01(t *testing.T) {
	dir := filepath.Join(casesDir, "happy-path-v0.1")
	b := caseBundle(t, dir)
	entry := b["verificationMaterial"].(map[string]any)["tlogEntries"].([]any)[0].(map[string]any)
	delete(entry, "inclusionProof")
	run := func(bundle map[string]any) (int, string) {
		out, err := json.Marshal(bundle)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), "bundle.sigstore.json")
		if err := os.WriteFile(p, out, 0o644); err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		code := Run([]string{"verify-bundle", "--bundle", p, "--certificate-identity", defaultIdentity,
			"--certificate-oidc-issuer", defaultIssuer, filepath.Join(casesDir, "a.txt")}, &stdout, &stderr)
		return code, stdout.String() + stderr.String()
	}
	if code, out := run(b); code != 0 || !strings.Contains(out, "signed inclusion promise") {
		t.Fatalf("promise-only v0.1 bundle: exit %d, want 0 with the promise reported\n%s", code, out)
	}
	promise := entry["inclusionPromise"].(map[string]any)
	set := []byte(promise["signedEntryTimestamp"].(string))
	set[10] ^= 1
	promise["signedEntryTimestamp"] = string(set)
	if code, out := run(b); code == 0 {
		t.Fatalf("promise-only v0.1 bundle with an altered promise verified\n%s", out)
	}
}

// TestProtocol covers the calls that never reach a bundle.
func TestProtocol(t *testing.T) {
	bundlePath := filepath.Join(casesDir, "happy-path-v0.3", "bundle.sigstore.json")
	a := filepath.Join(casesDir, "a.txt")
	for _, tc := range []struct {
		name string
		args []string
		want int
		msg  string
	}{
		{"no subcommand", nil, 2, "no subcommand"},
		{"signing", []string{"sign-bundle", "--identity-token", "T", "--bundle", "b", a}, 2, "out of scope"},
		{"unknown", []string{"frobnicate"}, 2, "unknown subcommand"},
		{"staging without root", []string{"verify-bundle", "--staging", "--bundle", bundlePath,
			"--certificate-identity", defaultIdentity, "--certificate-oidc-issuer", defaultIssuer, a}, 2, "TUF"},
		{"no identity", []string{"verify-bundle", "--bundle", bundlePath, a}, 2, "--certificate-identity"},
		{"key and identity", []string{"verify-bundle", "--bundle", bundlePath, "--key", "k.pub",
			"--certificate-identity", defaultIdentity, "--certificate-oidc-issuer", defaultIssuer, a}, 2, "conflict"},
		{"no artifact", []string{"verify-bundle", "--bundle", bundlePath,
			"--certificate-identity", defaultIdentity, "--certificate-oidc-issuer", defaultIssuer}, 2, "FILE_OR_DIGEST"},
		{"short digest is a path", []string{"verify-bundle", "--bundle", bundlePath,
			"--certificate-identity", defaultIdentity, "--certificate-oidc-issuer", defaultIssuer, "sha256:abcd"}, 2, "sha256:abcd"},
		{"wrong identity", []string{"verify-bundle", "--bundle", bundlePath,
			"--certificate-identity", "https://example.org/other", "--certificate-oidc-issuer", defaultIssuer, a}, 1, "certificate identity"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := Run(tc.args, &stdout, &stderr); code != tc.want || !strings.Contains(stderr.String(), tc.msg) {
				t.Errorf("exit %d, stderr %q; want exit %d mentioning %q", code, &stderr, tc.want, tc.msg)
			}
		})
	}
}

// TestIncorrectTimeRefusedForItsReason: the vendored rekor2-timestamp-with-incorrect-time_fail
// bundle is refused before its timestamp is read, because its base64 holds line breaks
// (the case was made with base64(1), which wraps lines) that protojson refuses. With them
// removed, it must still be refused, for what the case is about: the timestamp falls
// outside the certificate's lifetime.
func TestIncorrectTimeRefusedForItsReason(t *testing.T) {
	dir := filepath.Join(casesDir, "rekor2-timestamp-with-incorrect-time_fail")
	b := caseBundle(t, dir)
	ts := b["verificationMaterial"].(map[string]any)["timestampVerificationData"].(map[string]any)["rfc3161Timestamps"].([]any)[0].(map[string]any)
	ts["signedTimestamp"] = strings.ReplaceAll(ts["signedTimestamp"].(string), "\n", "")
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "bundle.sigstore.json")
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	args := caseArgs(t, dir, false)
	args[2] = p
	var stdout, stderr bytes.Buffer
	if code := Run(args, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "leaf certificate") {
		t.Errorf("exit %d, want 1 for the certificate's lifetime\nstdout:\n%s\nstderr:\n%s", code, &stdout, &stderr)
	}
}
