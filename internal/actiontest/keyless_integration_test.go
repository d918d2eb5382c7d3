//go:build integration

package actiontest

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

	"github.com/slsabox/slsabox/attest"
	"github.com/slsabox/slsabox/internal/testenv"
)

// TestKeylessActionWithAct signs keyless through the action, end to end: nektos/act in
// host mode runs testdata/action-keyless-test.yml (permissions: id-token: write,
// `uses: ./`) inside the keyless stack's network namespace, with GitHub's
// token-request variables pointing at the stack's test OIDC issuer and the identity
// variables act does not set (GITHUB_WORKFLOW_REF, RUNNER_ENVIRONMENT, ...) passed
// as GitHub sets them. The action, given no key, signs with a Fulcio certificate, a
// TSA timestamp and a Rekor v2 entry; the test checks the outputs, the summary, the
// certificate's GitHub extensions, that the token secret appears nowhere in the log,
// and verifies the bundle by identity with slsabox verify (and refuses a wrong one)
// and with cosign. The same job signs with a key when one is given, and a job that
// has neither a key nor an ID token is refused with the fix.
//
// scripts/test.sh runs it in its keyless pass (scripts/keyless.sh exec); in the main
// pass testenv.Keyless skips it.
func TestKeylessActionWithAct(t *testing.T) {
	s := testenv.Keyless(t)
	containerd := testenv.Containerd(t)
	testenv.Tool(t, "act")
	testbox := testenv.Image(t, "testbox.tar")
	const workflowPath = ".github/workflows/action-keyless-test.yml"
	// A copy of this repository with a one-file project in it, so that the commit
	// built is the commit the job (and so its token and certificate) runs on.
	tmp, results, repo, _ := actWorkspace(t)
	project := filepath.Join(repo, "keyless-hi")
	if err := os.MkdirAll(project, 0o755); err != nil {
		t.Fatal(err)
	}
	def := "version: 1\nimage: " + testbox + "\nsteps: [{name: hi, run: [sh, -c, \"echo hi >/out/hi\"]}]\noutputs: [/out/hi]\n"
	if err := os.WriteFile(filepath.Join(project, "slsabox.yaml"), []byte(def), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"add", "keyless-hi"},
		{"-c", "user.name=slsabox test", "-c", "user.email=test@slsabox.invalid", "commit", "-q", "-m", "keyless project"}} {
		if out, err := exec.Command("git", append([]string{"-C", repo}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	head, err := exec.Command("git", "-C", repo, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	commit := strings.TrimSpace(string(head))

	slsabox, key, pem := slsaboxAndKey(t, tmp)

	// What GitHub gives a push to main of testRepo with id-token: write, and the
	// matching claims of the token the issuer mints for it.
	workflowRef := testRepo + "/" + workflowPath + "@refs/heads/main"
	san := "https://github.com/" + workflowRef
	const runID, repoID = "4242", "100042"
	tokenURL := s.TokenURL + "&repository=" + testRepo + "&sha=" + commit + "&workflow_path=" + workflowPath +
		"&run_id=" + runID + "&repository_id=" + repoID + "&runner_environment=github-hosted"
	gocache, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	env := []string{
		"TEST_RESULTS=" + results,
		"TEST_FULCIO_URL=" + s.FulcioURL,
		"TEST_TSA_URL=" + s.TSAURL,
		"TEST_REKOR_URL=" + s.RekorURL,
		"TEST_CONTAINERD=" + containerd,
		"TEST_PROJECT=keyless-hi",
		"ACTIONS_ID_TOKEN_REQUEST_URL=" + tokenURL,
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN=" + s.TokenSecret,
		"GITHUB_WORKFLOW_REF=" + workflowRef,
		"GITHUB_WORKFLOW_SHA=" + commit,
		"GITHUB_RUN_ID=" + runID,
		"GITHUB_REPOSITORY_ID=" + repoID,
		"RUNNER_ENVIRONMENT=github-hosted",
		"SLSABOX_NAMESPACE=slsabox-test-action-keyless",
		// slsabox is built from the action's source: with the suite's build cache, warm.
		"GOCACHE=" + strings.TrimSpace(string(gocache)),
	}
	start := time.Now()
	log, err := runAct(t, "action-keyless-test.yml", repo, tmp, env, map[string]string{"SLSABOX_SIGNING_KEY": string(pem)})
	t.Logf("act ran the workflow in %s", time.Since(start).Round(time.Second))
	if err != nil {
		t.Fatalf("act: %v\n%s", err, tail(log, 80))
	}
	entries := actLog(t, []byte(log))

	// The token request secret and the ID token itself never reach the log.
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, s.TokenSecret) {
			t.Errorf("the token request secret (ACTIONS_ID_TOKEN_REQUEST_TOKEN) is in act's log: %.300s", strings.ReplaceAll(line, s.TokenSecret, "<SECRET>"))
		}
	}
	if jwt := regexp.MustCompile(`eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.`).FindString(log); jwt != "" {
		t.Errorf("an ID token is in act's log: %.40s...", jwt)
	}

	var outputs struct {
		Bundle, Subjects, LogIndex, LogURL, SigningMode, CertificateIdentity, CertificateIssuer string
		KeyBundle, KeySigningMode, KeyCertificateIdentity, NeitherOutcome, NeitherMode          string
	}
	data, err := os.ReadFile(filepath.Join(results, "outputs.json"))
	if err != nil {
		t.Fatalf("the workflow wrote no outputs: %v\n%s", err, tail(log, 80))
	}
	if err := json.Unmarshal(data, &outputs); err != nil {
		t.Fatal(err)
	}
	t.Logf("outputs: %s", data)

	// The keyless step: its outputs name the mode and the identity to verify by.
	out := filepath.Join(results, "keyless")
	if outputs.SigningMode != "keyless" || outputs.CertificateIdentity != san || outputs.CertificateIssuer != s.Issuer {
		t.Errorf("signing-mode %q, certificate-identity %q, certificate-oidc-issuer %q; want keyless, %s, %s",
			outputs.SigningMode, outputs.CertificateIdentity, outputs.CertificateIssuer, san, s.Issuer)
	}
	if outputs.Bundle != filepath.Join(out, attest.BundleFile) || outputs.LogURL != s.RekorURL {
		t.Errorf("bundle %q, log-url %q; want %s, %s", outputs.Bundle, outputs.LogURL, filepath.Join(out, attest.BundleFile), s.RekorURL)
	}
	var subjects []struct {
		Name, Path string
		Digest     struct{ SHA256 string }
	}
	if err := json.Unmarshal([]byte(outputs.Subjects), &subjects); err != nil || len(subjects) != 1 || subjects[0].Path != filepath.Join(out, "hi") {
		t.Fatalf("subjects %q (%v), want hi in %s", outputs.Subjects, err, out)
	}
	statement, bundleIndex := readBundle(t, outputs.Bundle)
	if idx, err := strconv.ParseInt(outputs.LogIndex, 10, 64); err != nil || idx != bundleIndex {
		t.Errorf("log-index output %q, the bundle's entry %d", outputs.LogIndex, bundleIndex)
	}
	if got := statement.Predicate.RunDetails.Builder.ID; got != san {
		t.Errorf("builder.id %q, want the workflow identity %s", got, san)
	}

	// The certificate carries the workflow's GitHub claims.
	bdata, err := os.ReadFile(outputs.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	b, err := attest.ParseBundle(bdata)
	if err != nil {
		t.Fatal(err)
	}
	vc, err := b.VerificationContent()
	if err != nil || vc.Certificate() == nil {
		t.Fatalf("the keyless bundle carries no certificate (%v)", err)
	}
	if len(b.GetVerificationMaterial().GetTimestampVerificationData().GetRfc3161Timestamps()) != 1 {
		t.Errorf("the keyless bundle carries no RFC 3161 timestamp")
	}
	sum, err := certificate.SummarizeCertificate(vc.Certificate())
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string][2]string{
		"SAN":                        {sum.SubjectAlternativeName, san},
		"issuer (.8)":                {sum.Extensions.Issuer, s.Issuer},
		"runner environment (.11)":   {sum.Extensions.RunnerEnvironment, "github-hosted"},
		"source repository (.12)":    {sum.Extensions.SourceRepositoryURI, "https://github.com/" + testRepo},
		"source digest (.13)":        {sum.Extensions.SourceRepositoryDigest, commit},
		"source ref (.14)":           {sum.Extensions.SourceRepositoryRef, "refs/heads/main"},
		"source repository id (.15)": {sum.Extensions.SourceRepositoryIdentifier, repoID},
		"build config (.18)":         {sum.Extensions.BuildConfigURI, san},
		"run invocation (.21)":       {sum.Extensions.RunInvocationURI, "https://github.com/" + testRepo + "/actions/runs/" + runID + "/attempts/1"},
	} {
		if got[0] != got[1] {
			t.Errorf("certificate %s = %q, want %q", name, got[0], got[1])
		}
	}

	// The step summary says how it was signed and by which identity.
	summary := ""
	for _, e := range entries {
		if e.Command == "summary" && strings.Contains(e.Content, "| signed | **keyless**") {
			summary = e.Content
		}
	}
	for _, want := range []string{
		"| signed | **keyless**, a certificate from `" + s.FulcioURL + "` |",
		"| certificate identity | `" + san + "` |",
		"| certificate issuer | `" + s.Issuer + "` |",
		"| log entry | index **" + outputs.LogIndex + "** in `" + s.RekorURL + "` |",
	} {
		if !strings.Contains(summary, want) {
			t.Errorf("the keyless step summary has no line %q:\n%s", want, summary)
		}
	}
	// Side by side in one run: the same build through the action, keyless and with a key.
	for _, id := range []string{"keyless", "key"} {
		t.Logf("%s action step %s: install %s, build step (build, signing, logging, summary) %s", id,
			stepTime(entries, id).Round(time.Millisecond), stepTime(entries, id, "install").Round(time.Millisecond),
			stepTime(entries, id, "build").Round(time.Millisecond))
	}

	// A consumer verifies by identity, offline, against the stack's trusted root.
	artifact := subjects[0].Path
	verify := func(identity string) (string, error) {
		o, err := exec.Command(slsabox, "verify", artifact, "--bundle", outputs.Bundle, "--trusted-root", s.TrustedRoot,
			"--certificate-identity", identity, "--certificate-oidc-issuer", s.Issuer, "--refuse-self-hosted-runner",
			"--certificate-source-repository", "https://github.com/"+testRepo, "--certificate-source-digest", commit,
			"--builder-id", san, "--source-uri", wantSourceURI, "--source-ref", "refs/heads/main", "--source-commit", commit,
			"--require-hermetic").CombinedOutput()
		return string(o), err
	}
	if o, err := verify(san); err != nil || !strings.Contains(o, "ok   certificate identity: "+san) {
		t.Errorf("slsabox verify by identity: %v\n%s", err, o)
	}
	wrong := strings.Replace(san, "action-keyless-test.yml", "other.yml", 1)
	if o, err := verify(wrong); exitCode(err) != 1 || !strings.Contains(o, "FAIL certificate identity") {
		t.Errorf("slsabox verify with another workflow's identity: %v, want exit 1 and FAIL certificate identity\n%s", err, o)
	}
	cosign := func(identity string) (string, error) {
		o, err := exec.Command(testenv.Tool(t, "cosign"), "verify-blob-attestation", "--bundle", outputs.Bundle,
			"--certificate-identity", identity, "--certificate-oidc-issuer", s.Issuer,
			"--trusted-root", s.TrustedRoot, "--type", "slsaprovenance1", artifact).CombinedOutput()
		return string(o), err
	}
	if o, err := cosign(san); err != nil || !strings.Contains(o, "Verified OK") {
		t.Errorf("cosign verify-blob-attestation by identity: %v\n%s", err, o)
	}
	if o, err := cosign(wrong); err == nil {
		t.Errorf("cosign accepted another workflow's identity:\n%s", o)
	}

	// The uploaded artifact is the keyless output.
	if a, err := os.ReadFile(filepath.Join(results, "artifacts", "keyless", attest.BundleFile)); err != nil || string(a) != string(bdata) {
		t.Errorf("the uploaded artifact's bundle differs from the output (%v)", err)
	}

	// A key given wins over the ID token: a key-signed bundle, verified with the key.
	if outputs.KeySigningMode != "key" || outputs.KeyCertificateIdentity != "" {
		t.Errorf("with a key: signing-mode %q, certificate-identity %q; want key and none", outputs.KeySigningMode, outputs.KeyCertificateIdentity)
	}
	if o, err := exec.Command(slsabox, "verify", filepath.Join(results, "key", "hi"), "--bundle", outputs.KeyBundle,
		"--key", key+".pub", "--trusted-root", s.TrustedRoot, "--builder-id", san,
		"--source-uri", wantSourceURI, "--source-commit", commit).CombinedOutput(); err != nil {
		t.Errorf("slsabox verify of the key-signed bundle: %v\n%s", err, o)
	}

	// Neither a key nor an ID token: refused before building, naming both fixes.
	if outputs.NeitherOutcome != "failure" || outputs.NeitherMode != "" {
		t.Errorf("without key and token: outcome %q, signing-mode %q; want failure and none", outputs.NeitherOutcome, outputs.NeitherMode)
	}
	for _, want := range []string{"nothing to sign with: no signing-key or kms-key, and the job cannot request an OIDC token",
		"permissions: id-token: write", "signing-key: ${{ secrets.SLSABOX_SIGNING_KEY }}"} {
		if !strings.Contains(log, want) {
			t.Errorf("act's log lacks %q", want)
		}
	}
	if _, err := os.Stat(filepath.Join(results, "neither")); err == nil {
		t.Errorf("the refused step wrote %s", filepath.Join(results, "neither"))
	}
}
