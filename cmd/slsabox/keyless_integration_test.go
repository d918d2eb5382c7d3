//go:build integration

package main

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/slsabox/slsabox/attest"
	"github.com/slsabox/slsabox/attest/verify"
	"github.com/slsabox/slsabox/internal/testenv"
)

// slsaboxEnv runs the real binary with extra environment variables.
func slsaboxEnv(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(slsaboxBin, args...)
	cmd.Env = append(append(os.Environ(), "SLSABOX_NAMESPACE=slsabox-test-cli"), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

// githubEnv is what a GitHub Actions job sees, with the token request pointed at the
// local issuer; claims adds query parameters that set the token's claims.
func githubEnv(s testenv.KeylessStack, repo, claims string) []string {
	return []string{
		"GITHUB_ACTIONS=true", "GITHUB_SERVER_URL=https://github.com", "GITHUB_REPOSITORY=" + repo,
		"GITHUB_REF=refs/heads/main", "GITHUB_RUN_ID=42", "GITHUB_RUN_ATTEMPT=1",
		"GITHUB_WORKFLOW_REF=" + repo + "/.github/workflows/release.yml@refs/heads/main",
		"ACTIONS_ID_TOKEN_REQUEST_URL=" + s.TokenURL + "&repository=" + repo + claims,
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN=" + s.TokenSecret,
		"SLSABOX_KEY=", "SLSABOX_FULCIO_URL=" + s.FulcioURL, "SLSABOX_TSA_URL=" + s.TSAURL,
	}
}

// githubProject is tlogProject cloned from github.com/REPO, as actions/checkout leaves
// it: slsabox refuses to record GITHUB_REPOSITORY for a checkout of another origin.
func githubProject(t *testing.T, repo string) string {
	t.Helper()
	project := tlogProject(t)
	if o, err := exec.Command("git", "-C", project, "remote", "add", "origin", "https://github.com/"+repo).CombinedOutput(); err != nil {
		t.Fatalf("git remote add: %s", o)
	}
	return project
}

func gitHead(t *testing.T, dir string) string {
	t.Helper()
	out, err := exec.Command("git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// keylessBuild builds the project in GitHub Actions' environment (keyless by default
// there) and returns the output directory.
func keylessBuild(t *testing.T, s testenv.KeylessStack, project string, env []string, extra ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	args := append([]string{"build", project, "-o", out, "--rekor-url", s.RekorURL}, extra...)
	if _, stderr, code := slsaboxEnv(t, env, args...); code != 0 {
		t.Fatalf("keyless build exited %d:\n%s", code, stderr)
	}
	return out
}

// TestKeylessBuildVerify: a keyless build in a (simulated) GitHub Actions job against
// the real local Fulcio, TSA and Rekor v2 gives a bundle whose certificate carries
// GitHub's extensions; slsabox verify accepts it with the right identity and refuses
// a wrong SAN, issuer or repository, a self-hosted runner when refused, a bundle
// without its timestamp, and provenance whose source is not the certificate's; and
// cosign accepts the same bundle by identity.
func TestKeylessBuildVerify(t *testing.T) {
	s := testenv.Keyless(t)
	testenv.Containerd(t)
	project := githubProject(t, "octo/widget")
	commit := gitHead(t, project)
	const repo = "octo/widget"
	san := "https://github.com/" + repo + "/.github/workflows/release.yml@refs/heads/main"
	env := githubEnv(s, repo, "&sha="+commit)

	out := keylessBuild(t, s, project, env)
	bundlePath := filepath.Join(out, attest.BundleFile)
	artifact := filepath.Join(out, "artifact")
	data, err := os.ReadFile(bundlePath)
	if err != nil {
		t.Fatal(err)
	}
	b, err := attest.ParseBundle(data)
	if err != nil {
		t.Fatal(err)
	}
	vc, err := b.VerificationContent()
	if err != nil || vc.Certificate() == nil {
		t.Fatalf("the keyless bundle carries no certificate: %v", err)
	}
	sum, err := certificate.SummarizeCertificate(vc.Certificate())
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string][2]string{
		"SAN":                  {sum.SubjectAlternativeName, san},
		"issuer (.8)":          {sum.Extensions.Issuer, s.Issuer},
		"source repository":    {sum.Extensions.SourceRepositoryURI, "https://github.com/" + repo},
		"source digest (.13)":  {sum.Extensions.SourceRepositoryDigest, commit},
		"source ref (.14)":     {sum.Extensions.SourceRepositoryRef, "refs/heads/main"},
		"workflow ref (.18)":   {sum.Extensions.BuildConfigURI, san},
		"runner (.11)":         {sum.Extensions.RunnerEnvironment, "github-hosted"},
		"run invocation (.21)": {sum.Extensions.RunInvocationURI, "https://github.com/" + repo + "/actions/runs/1/attempts/1"},
	} {
		if got[0] != got[1] {
			t.Errorf("certificate %s = %q, want %q", name, got[0], got[1])
		}
	}
	if ok, err := cosignContainsSCT(vc.Certificate().Raw); err != nil || !ok {
		t.Errorf("the certificate carries no embedded SCT (%v): Fulcio runs without its CT log", err)
	}
	if n := len(b.GetVerificationMaterial().GetTimestampVerificationData().GetRfc3161Timestamps()); n != 1 {
		t.Errorf("%d RFC 3161 timestamps, want 1", n)
	}
	if len(b.GetVerificationMaterial().GetTlogEntries()) != 1 {
		t.Error("the keyless bundle is not logged")
	}

	verifyArgs := func(bundle string, extra ...string) []string {
		a := []string{"verify", artifact, "--bundle", bundle, "--trusted-root", s.TrustedRoot,
			"--builder-id", san, "--source-uri", "git+https://github.com/" + repo,
			"--certificate-identity", san, "--certificate-oidc-issuer", s.Issuer}
		return append(a, extra...)
	}
	stdout, stderr, code := slsabox(t, verifyArgs(bundlePath, "--refuse-self-hosted-runner",
		"--certificate-source-repository", "https://github.com/"+repo, "--certificate-source-digest", commit,
		"--certificate-workflow-ref", san, "--source-commit", commit)...)
	if code != 0 {
		t.Fatalf("verify exited %d:\n%s\n%s", code, stdout, stderr)
	}
	t.Logf("verify:\n%s", stdout)
	for _, want := range []string{"VERIFIED", "ok   signature: DSSE signature by a certificate", "(RFC 3161 timestamp)",
		"ok   certificate identity: " + san, "ok   certificate matches provenance: https://github.com/" + repo + " at " + commit} {
		if !strings.Contains(stdout, want) {
			t.Errorf("verify output lacks %q", want)
		}
	}

	// Refusals: each exits 1 and names the failing check.
	refuse := func(name, failing string, args []string) {
		t.Run(name, func(t *testing.T) {
			stdout, stderr, code := slsabox(t, args...)
			if code != 1 {
				t.Fatalf("verify exited %d, want 1:\n%s\n%s", code, stdout, stderr)
			}
			if !strings.Contains(stdout, "FAIL "+failing) {
				t.Errorf("no FAIL %s line:\n%s", failing, stdout)
			}
		})
	}
	wrongSAN := strings.Replace(san, "release.yml", "other.yml", 1)
	refuse("wrong SAN", "certificate identity", replaceArg(verifyArgs(bundlePath), "--certificate-identity", wrongSAN))
	refuse("SAN regexp of another repository", "certificate identity", append(dropArg(verifyArgs(bundlePath), "--certificate-identity"),
		"--certificate-identity-regexp", `https://github\.com/octo/other/.*`))
	refuse("wrong issuer", "certificate identity", replaceArg(verifyArgs(bundlePath), "--certificate-oidc-issuer", "https://token.actions.githubusercontent.com"))
	refuse("wrong repository", "certificate identity", verifyArgs(bundlePath, "--certificate-source-repository", "https://github.com/octo/other"))

	// A keyless bundle checked as if key-signed says how to check it.
	key := keygen(t)
	refuse("checked with a key", "signature", []string{"verify", artifact, "--bundle", bundlePath, "--trusted-root", s.TrustedRoot,
		"--builder-id", san, "--source-uri", "git+https://github.com/" + repo, "--key", key + ".pub"})

	// The same bundle without its timestamp: Rekor v2 gives no integrated time, so
	// nothing says the certificate was valid when it signed.
	noTS := filepath.Join(t.TempDir(), "no-timestamp.json")
	stripped := proto(t, data)
	stripped.GetVerificationMaterial().TimestampVerificationData = nil
	writeBundle(t, noTS, stripped)
	refuse("no timestamp", "signature", verifyArgs(noTS))

	// Tampering with the payload, the signature, the certificate or the timestamp
	// never verifies (checked through the library, which the CLI uses).
	v, err := verify.New(verify.WithTrustedRootFile(s.TrustedRoot))
	if err != nil {
		t.Fatal(err)
	}
	policy := verify.Policy{Digest: strings.TrimPrefix(sum256(t, artifact), "sha256:"), BuilderID: san, SourceURI: "git+https://github.com/" + repo,
		CertificateIdentity: &verify.Identity{SubjectAlternativeName: san, Issuer: s.Issuer}}
	if _, err := v.Verify(b, policy); err != nil {
		t.Fatalf("the library refuses the original: %v", err)
	}
	for name, tamper := range map[string]func(*bundlePB){
		"payload":     func(pb *bundlePB) { pb.GetDsseEnvelope().Payload[10] ^= 1 },
		"signature":   func(pb *bundlePB) { pb.GetDsseEnvelope().Signatures[0].Sig[8] ^= 1 },
		"certificate": func(pb *bundlePB) { c := pb.GetVerificationMaterial().GetCertificate().RawBytes; c[len(c)-5] ^= 1 },
		"timestamp": func(pb *bundlePB) {
			ts := pb.GetVerificationMaterial().GetTimestampVerificationData().GetRfc3161Timestamps()[0].SignedTimestamp
			ts[len(ts)-5] ^= 1
		},
	} {
		pb := proto(t, data)
		tamper(pb)
		tb, err := bundle.NewBundle(pb)
		if err != nil {
			t.Logf("tampered %s: refused as malformed: %v", name, err)
			continue
		}
		r, err := v.Verify(tb, policy)
		if err == nil || r.Verified {
			t.Errorf("a bundle with a tampered %s verifies", name)
		}
		t.Logf("tampered %s: %v", name, err)
	}

	// A self-hosted runner is accepted unless refused.
	selfHosted := keylessBuild(t, s, project, githubEnv(s, repo, "&sha="+commit+"&runner_environment=self-hosted"))
	shBundle := filepath.Join(selfHosted, attest.BundleFile)
	shArgs := func(extra ...string) []string {
		return replaceArg(verifyArgs(shBundle, extra...), artifact, filepath.Join(selfHosted, "artifact"))
	}
	if stdout, stderr, code := slsabox(t, shArgs()...); code != 0 {
		t.Fatalf("a self-hosted build does not verify when not refused (exit %d):\n%s\n%s", code, stdout, stderr)
	}
	refuse("self-hosted runner refused", "certificate identity", shArgs("--refuse-self-hosted-runner"))
	refuse("runner environment", "certificate identity", shArgs("--certificate-runner-environment", "github-hosted"))

	// Provenance whose source is not what the certificate's workflow ran on: the build
	// says octo/other while the token (and so the certificate) says octo/widget.
	liar := keylessBuild(t, s, project, env, "--source-uri", "git+https://github.com/octo/other")
	liarArgs := replaceArg(replaceArg(verifyArgs(filepath.Join(liar, attest.BundleFile)), artifact, filepath.Join(liar, "artifact")),
		"--source-uri", "git+https://github.com/octo/other")
	refuse("provenance source disagrees with the certificate", "certificate matches provenance", liarArgs)
	// And a certificate for another commit than the one built.
	otherCommit := keylessBuild(t, s, project, githubEnv(s, repo, "&sha=2222222222222222222222222222222222222222"))
	refuse("certificate for another commit", "certificate matches provenance",
		replaceArg(verifyArgs(filepath.Join(otherCommit, attest.BundleFile)), artifact, filepath.Join(otherCommit, "artifact")))

	// cosign, an independent verifier, accepts the bundle by identity, with the SCT the
	// local CT log gave Fulcio (the stack's trusted root names that log).
	cosign := testenv.Tool(t, "cosign")
	cosignRun := func(identity, artifact string) (string, error) {
		o, err := exec.Command(cosign, "verify-blob-attestation", "--bundle", bundlePath, "--certificate-identity", identity,
			"--certificate-oidc-issuer", s.Issuer, "--trusted-root", s.TrustedRoot, "--type", "slsaprovenance1",
			artifact).CombinedOutput()
		return string(o), err
	}
	if o, err := cosignRun(san, artifact); err != nil || !strings.Contains(o, "Verified OK") {
		t.Fatalf("cosign rejects the keyless bundle: %v\n%s", err, o)
	}
	if o, err := cosignRun(wrongSAN, artifact); err == nil {
		t.Errorf("cosign accepted a wrong identity:\n%s", o)
	}
}

// TestKeylessBuildFailures: a missing token, a token Fulcio refuses and a timestamp
// authority that is down each fail with their exit code and a hint; no bundle is left.
func TestKeylessBuildFailures(t *testing.T) {
	s := testenv.Keyless(t)
	testenv.Containerd(t)
	project := githubProject(t, "octo/widget")
	forged := filepath.Join(t.TempDir(), "token")
	// Well formed, but signed by no issuer Fulcio trusts.
	os.WriteFile(forged, []byte("eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJodHRwczovL2V2aWwuZXhhbXBsZSIsImF1ZCI6InNpZ3N0b3JlIiwic3ViIjoieCIsImV4cCI6NDEwMjQ0NDgwMH0.c2ln"), 0o600)
	base := []string{"SLSABOX_KEY=", "ACTIONS_ID_TOKEN_REQUEST_URL=", "ACTIONS_ID_TOKEN_REQUEST_TOKEN=",
		"SLSABOX_FULCIO_URL=" + s.FulcioURL, "SLSABOX_TSA_URL=" + s.TSAURL}
	for _, tt := range []struct {
		name  string
		env   []string
		args  []string
		code  int
		error string
	}{
		{"no token", base, []string{"--keyless"}, 2, "identity token: none"},
		{"key and keyless", base, []string{"--keyless", "--key", "x.key"}, 2, "--keyless conflicts with --key"},
		{"fulcio refuses", base, []string{"--keyless", "--identity-token", "@" + forged}, 2, "fulcio refused the certificate"},
		{"tsa down", githubEnv(s, "octo/widget", ""), []string{"--tsa-url", "http://127.0.0.1:1/api/v1/timestamp"}, 3, "timestamp authority unavailable"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			args := append([]string{"build", project, "-o", out, "--rekor-url", s.RekorURL}, tt.args...)
			_, stderr, code := slsaboxEnv(t, tt.env, args...)
			if code != tt.code || !strings.Contains(stderr, tt.error) || !strings.Contains(stderr, "slsabox: hint:") {
				t.Fatalf("exit %d (want %d), stderr lacks %q or a hint:\n%s", code, tt.code, tt.error, stderr)
			}
			if _, err := os.Stat(filepath.Join(out, attest.BundleFile)); err == nil {
				t.Error("a bundle was written")
			}
		})
	}
}

// TestKeylessLogOutage: with the log down a keyless build still writes its signed
// bundle (exit 3), and slsabox upload logs it later without any key, from the
// certificate the bundle carries; the result verifies by identity.
func TestKeylessLogOutage(t *testing.T) {
	s := testenv.Keyless(t)
	testenv.Containerd(t)
	project := githubProject(t, "octo/widget")
	const repo = "octo/widget"
	san := "https://github.com/" + repo + "/.github/workflows/release.yml@refs/heads/main"
	out := filepath.Join(t.TempDir(), "out")
	_, stderr, code := slsaboxEnv(t, githubEnv(s, repo, "&sha="+gitHead(t, project)), "build", project, "-o", out,
		"--rekor-url", "http://127.0.0.1:1", "--rekor-attempts", "1")
	if code != 3 || !strings.Contains(stderr, "slsabox upload --bundle "+filepath.Join(out, attest.BundleFile)+" --rekor-url") {
		t.Fatalf("build with the log down: exit %d (want 3), hint without a keyless upload command:\n%s", code, stderr)
	}
	bundlePath := filepath.Join(out, attest.BundleFile)
	verifyArgs := []string{"verify", filepath.Join(out, "artifact"), "--bundle", bundlePath, "--trusted-root", s.TrustedRoot,
		"--builder-id", san, "--source-uri", "git+https://github.com/" + repo,
		"--certificate-identity", san, "--certificate-oidc-issuer", s.Issuer}
	if stdout, _, code := slsabox(t, verifyArgs...); code != 1 || !strings.Contains(stdout, "FAIL transparency log") {
		t.Fatalf("the unlogged bundle: exit %d, want 1 with FAIL transparency log:\n%s", code, stdout)
	}
	if _, stderr, code := slsabox(t, "upload", "--bundle", bundlePath, "--rekor-url", s.RekorURL); code != 0 {
		t.Fatalf("upload exited %d:\n%s", code, stderr)
	}
	if stdout, stderr, code := slsabox(t, verifyArgs...); code != 0 {
		t.Fatalf("the uploaded bundle does not verify (exit %d):\n%s\n%s", code, stdout, stderr)
	}
}

// TestKeylessActWorkflow runs a release workflow that grants id-token: write through a
// real workflow runner (nektos/act in host mode, inside the keyless namespace), with
// the token-request variables pointing at the local issuer as GitHub sets them. The
// workflow's slsabox build signs keyless by default; the bundle verifies by the
// workflow's identity.
func TestKeylessActWorkflow(t *testing.T) {
	s := testenv.Keyless(t)
	containerd := testenv.Containerd(t)
	act := testenv.Tool(t, "act")
	project := tlogProject(t)
	const repo = "octo/widget"
	wf := "name: release\non: push\npermissions:\n  contents: read\n  id-token: write\njobs:\n  release:\n    runs-on: ubuntu-latest\n" +
		"    steps:\n      - run: '\"$SLSABOX_BIN\" build \"$PROJECT\" -o \"$OUT\" --rekor-url \"$SLSABOX_REKOR_URL\"'\n"
	if err := os.MkdirAll(filepath.Join(project, ".github", "workflows"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(project, ".github", "workflows", "release.yml"), []byte(wf), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"branch", "-M", "main"}, {"remote", "add", "origin", "https://github.com/" + repo}, {"add", "-A"},
		{"-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "workflow"}} {
		if o, err := exec.Command("git", append([]string{"-C", project}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %s", args, o)
		}
	}
	commit := gitHead(t, project)
	home, out := t.TempDir(), filepath.Join(t.TempDir(), "out")
	cmd := exec.Command(act, "push", "-P", "ubuntu-latest=-self-hosted", "--no-cache-server", "--action-cache-path", filepath.Join(home, "actions"),
		"--env", "SLSABOX_BIN="+slsaboxBin, "--env", "PROJECT="+project, "--env", "OUT="+out,
		"--env", "SLSABOX_REKOR_URL="+s.RekorURL, "--env", "SLSABOX_FULCIO_URL="+s.FulcioURL, "--env", "SLSABOX_TSA_URL="+s.TSAURL,
		"--env", "SLSABOX_CONTAINERD="+containerd, "--env", "SLSABOX_NAMESPACE=slsabox-test-cli",
		"--env", "ACTIONS_ID_TOKEN_REQUEST_URL="+s.TokenURL+"&repository="+repo+"&sha="+commit,
		"--env", "ACTIONS_ID_TOKEN_REQUEST_TOKEN="+s.TokenSecret,
		"--env", "GITHUB_WORKFLOW_REF="+repo+"/.github/workflows/release.yml@refs/heads/main", "--env", "RUNNER_ENVIRONMENT=github-hosted")
	cmd.Dir = project
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CACHE_HOME="+filepath.Join(home, "cache"), "XDG_CONFIG_HOME="+filepath.Join(home, "config"),
		"SLSABOX_KEY=", "ACTIONS_ID_TOKEN_REQUEST_URL=", "ACTIONS_ID_TOKEN_REQUEST_TOKEN=")
	o, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(o), "Job succeeded") {
		t.Fatalf("act: %v\n%s", err, o)
	}
	if !strings.Contains(string(o), "with a certificate from "+s.FulcioURL) {
		t.Errorf("the workflow's build did not sign keyless:\n%s", o)
	}
	san := "https://github.com/" + repo + "/.github/workflows/release.yml@refs/heads/main"
	stdout, stderr, code := slsabox(t, "verify", filepath.Join(out, "artifact"), "--bundle", filepath.Join(out, attest.BundleFile),
		"--trusted-root", s.TrustedRoot, "--certificate-identity", san, "--certificate-oidc-issuer", s.Issuer, "--refuse-self-hosted-runner",
		"--builder-id", san, "--source-uri", "git+https://github.com/"+repo, "--source-commit", commit, "--source-ref", "refs/heads/main")
	if code != 0 {
		t.Fatalf("the workflow's bundle does not verify (exit %d):\n%s\n%s", code, stdout, stderr)
	}
}

func replaceArg(args []string, old, new string) []string {
	out := append([]string(nil), args...)
	for i := range out {
		if out[i] == old && !strings.HasPrefix(old, "--") {
			out[i] = new
		} else if out[i] == old && i+1 < len(out) {
			out[i+1] = new
		}
	}
	return out
}

func dropArg(args []string, flag string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		if args[i] == flag {
			i++
			continue
		}
		out = append(out, args[i])
	}
	return out
}

type bundlePB = protobundle.Bundle

// cosignContainsSCT reports whether a certificate has the embedded SCT list extension
// (1.3.6.1.4.1.11129.2.4.2).
func cosignContainsSCT(der []byte) (bool, error) {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return false, err
	}
	for _, e := range c.Extensions {
		if e.Id.Equal(asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 2}) {
			return true, nil
		}
	}
	return false, nil
}

func sum256(t *testing.T, path string) string {
	t.Helper()
	d, err := verify.FileDigest(path)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func proto(t *testing.T, data []byte) *bundlePB {
	t.Helper()
	var pb bundlePB
	if err := protojson.Unmarshal(data, &pb); err != nil {
		t.Fatal(err)
	}
	return &pb
}

func writeBundle(t *testing.T, path string, pb *bundlePB) {
	t.Helper()
	data, err := protojson.Marshal(pb)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
