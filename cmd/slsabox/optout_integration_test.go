//go:build integration

package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slsabox/slsabox/attest"
	"github.com/slsabox/slsabox/attest/verify"
	"github.com/slsabox/slsabox/builder"
)

// signedProvenance writes the artifact "hello" and an unlogged bundle of its
// provenance, signed with the key at keyPrefix, into dir; dirty marks the source as
// built with --allow-dirty.
func signedProvenance(t *testing.T, dir, keyPrefix string, dirty bool) (artifact, bundlePath, commit string) {
	t.Helper()
	artifact = filepath.Join(dir, "hello")
	if err := os.WriteFile(artifact, []byte("hello "+dir+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	digest, err := verify.FileDigest(artifact)
	if err != nil {
		t.Fatal(err)
	}
	commit = strings.Repeat("c", 40)
	t0 := time.Now().UTC()
	res := &builder.Result{
		BuildID:    "optout-test",
		Definition: builder.DefinitionInfo{Path: "slsabox.yaml", SHA256: digest, Content: "version: 1\n"},
		Source: &builder.Source{RepoRoot: "/src", Commit: commit, Ref: "refs/heads/main",
			RemoteURL: "https://example.org/optout.git", CommitTime: t0, Dirty: dirty},
		AllowDirtyTree: dirty,
		Image:          &builder.ResolvedImage{Ref: "example.org/img@sha256:" + digest, Digest: "sha256:" + digest, ManifestDigest: "sha256:" + digest},
		Subjects:       []builder.Subject{{Name: "hello", SHA256: digest}},
		Sandbox:        builder.Sandbox{Network: "none"},
		StartedOn:      t0, FinishedOn: t0.Add(time.Second), LogSHA256: digest,
	}
	st, err := attest.Provenance(describeBuild(res, "", ""), "https://slsabox.dev/builders/optout/v1")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := attest.LoadSigner(context.Background(), keyPrefix+".key")
	if err != nil {
		t.Fatal(err)
	}
	b, err := attest.Sign(context.Background(), st, signer)
	if err != nil {
		t.Fatal(err)
	}
	bundlePath = filepath.Join(dir, "provenance.sigstore.json")
	if err := attest.WriteBundle(bundlePath, b); err != nil {
		t.Fatal(err)
	}
	return artifact, bundlePath, commit
}

// TestVerifyDirtyAndOptOuts: a build of uncommitted changes fails verification at any
// level unless --allow-dirty-unsafe; every opt-out used is in the VSA, which then
// claims SLSA_BUILD_LEVEL_1 at most.
func TestVerifyDirtyAndOptOuts(t *testing.T) {
	key, verifier := keygen(t), keygen(t)
	dirtyDir, cleanDir := t.TempDir(), t.TempDir()
	dirtyArt, dirtyBundle, commit := signedProvenance(t, dirtyDir, key, true)
	cleanArt, cleanBundle, _ := signedProvenance(t, cleanDir, key, false)
	vsaPath := filepath.Join(t.TempDir(), "vsa.json")
	args := func(art, bundle string, extra ...string) []string {
		return append([]string{"verify", art, "--bundle", bundle, "--key", key + ".pub", "--no-tlog-unsafe",
			"--builder-id", "https://slsabox.dev/builders/optout/v1", "--source-uri", "git+https://example.org/optout",
			"--vsa-out", vsaPath, "--vsa-key", verifier + ".key", "--vsa-resource-uri", "https://example.org/r"}, extra...)
	}
	levels := func() string {
		v, err := openVSA(t, vsaPath, verifier+".pub")
		if err != nil {
			t.Fatal(err)
		}
		return v.Predicate.VerificationResult + " " + strings.Join(v.Predicate.VerifiedLevels, ",")
	}

	stdout, stderr, code := slsabox(t, args(dirtyArt, dirtyBundle, "--source-commit", commit, "--builder-level", "3", "--require-hermetic")...)
	if code != 1 || !strings.Contains(stdout, "FAIL committed source: built from uncommitted changes") || strings.Contains(stdout, "VERIFIED") {
		t.Errorf("dirty build at level 3: exit %d\n%s%s", code, stdout, stderr)
	}
	if got := levels(); got != "FAILED FAILED" {
		t.Errorf("dirty build VSA: %s", got)
	}

	_, stderr, code = slsabox(t, args(dirtyArt, dirtyBundle, "--allow-dirty-unsafe", "--builder-level", "3", "--require-hermetic")...)
	if code != 2 || !strings.Contains(stderr, "conflicts with the unsafe opt-out AllowDirtyUnsafe") {
		t.Errorf("--allow-dirty-unsafe at level 3: exit %d\n%s", code, stderr)
	}

	stdout, stderr, code = slsabox(t, args(dirtyArt, dirtyBundle, "--allow-dirty-unsafe")...)
	if code != 0 || !strings.Contains(stdout, "SLSA_BUILD_LEVEL_1") {
		t.Errorf("--allow-dirty-unsafe: exit %d\n%s%s", code, stdout, stderr)
	}
	if got := levels(); got != "PASSED SLSA_BUILD_LEVEL_1,SLSABOX_OPT_OUT_WITHOUT_TRANSPARENCY_LOG,SLSABOX_OPT_OUT_ALLOW_DIRTY" {
		t.Errorf("--allow-dirty-unsafe VSA: %s", got)
	}

	// Without a log proof, a clean build at --builder-level 3 claims level 1 and says why.
	stdout, stderr, code = slsabox(t, args(cleanArt, cleanBundle, "--builder-level", "3", "--require-hermetic")...)
	if code != 0 || !strings.Contains(stdout, "SLSA_BUILD_LEVEL_1") {
		t.Errorf("--no-tlog-unsafe at level 3: exit %d\n%s%s", code, stdout, stderr)
	}
	if got := levels(); got != "PASSED SLSA_BUILD_LEVEL_1,SLSABOX_OPT_OUT_WITHOUT_TRANSPARENCY_LOG" {
		t.Errorf("--no-tlog-unsafe VSA: %s", got)
	}
}
