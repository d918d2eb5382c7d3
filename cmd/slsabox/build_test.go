//go:build !slsabox_verifyonly

package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	intoto "github.com/in-toto/attestation/go/v1"

	"github.com/slsabox/slsabox/attest"
	"github.com/slsabox/slsabox/builder"
)

// TestWriteProvenanceRecordsNoTlog: the signed statement says whether the build
// ran with --no-tlog.
func TestWriteProvenanceRecordsNoTlog(t *testing.T) {
	privPEM, _, err := attest.GenerateKey(attest.ECDSAP256, nil)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := attest.ParsePrivateKey(privPEM, nil)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := attest.NewKeySigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	img := "sha256:" + strings.Repeat("a", 64)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	res := &builder.Result{
		BuildID:    "0123456789ab",
		Definition: builder.DefinitionInfo{Path: "slsabox.yaml", SHA256: strings.Repeat("d", 64), Content: "version: 1\n"},
		Source:     &builder.Source{RepoRoot: "/work/repo", Commit: strings.Repeat("c", 40), RemoteURL: "https://github.com/o/r"},
		Image:      &builder.ResolvedImage{Ref: "docker.io/library/golang:1.26@" + img, Digest: img, ManifestDigest: img, Platform: "linux/amd64"},
		Subjects:   []builder.Subject{{Name: "hello", SHA256: strings.Repeat("1", 64)}},
		StartedOn:  t0,
		FinishedOn: t0.Add(time.Second),
		LogSHA256:  strings.Repeat("f", 64),
	}
	for _, noTlog := range []bool{false, true} {
		stage := t.TempDir()
		o := &buildOptions{noTlog: noTlog}
		if _, err := writeProvenance(context.Background(), &globalOptions{quiet: true}, o, stage, res, signer, nil, io.Discard); err != nil {
			t.Fatal(err)
		}
		st := bundleStatement(t, filepath.Join(stage, attest.BundleFile))
		ext := st.GetPredicate().GetFields()["buildDefinition"].GetStructValue().GetFields()["externalParameters"].GetStructValue()
		if v, ok := ext.GetFields()["noTlog"]; !ok || v.GetBoolValue() != noTlog {
			t.Errorf("--no-tlog %v: externalParameters.noTlog = %v (present %v)", noTlog, v, ok)
		}
	}
}

// bundleStatement reads the in-toto statement of the bundle file at path.
func bundleStatement(t *testing.T, path string) *intoto.Statement {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := attest.ParseBundle(data)
	if err != nil {
		t.Fatal(err)
	}
	st, err := attest.ParseStatement(b.GetDsseEnvelope().GetPayload())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestBuildUsernsFlagsConflict(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"build", "--no-userns", "--require-userns", "--key", "k", "--no-tlog"}, &stdout, &stderr)
	if code != exitUsage || !strings.Contains(stderr.String(), "--no-userns conflicts with --require-userns") {
		t.Errorf("exit %d, want 2 naming the conflict:\n%s", code, stderr.String())
	}
}
