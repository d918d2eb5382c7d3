package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	intoto "github.com/in-toto/attestation/go/v1"

	"github.com/slsabox/slsabox/attest"
	"github.com/slsabox/slsabox/attest/verify"
)

// vsaWriter writes the VSA of one slsabox verify run. Everything that can be wrong
// with its configuration (key, URIs, policy file) is found before verifying.
type vsaWriter struct {
	signer    attest.Signer
	summary   verify.Summary
	out       string
	result    string
	levelBase int
}

func newVSAWriter(ctx context.Context, o *verifyOptions, policy verify.Policy, overridden bool) (*vsaWriter, error) {
	signer, err := attest.LoadSigner(ctx, o.vsaKey)
	if err != nil {
		return nil, fmt.Errorf("--vsa-key: %w", err)
	}
	w := &vsaWriter{signer: signer, out: o.vsaOut}
	w.summary = verify.Summary{VerifierID: o.vsaVerifierID, ResourceURI: o.vsaResourceURI}
	if o.policyFile != "" && !overridden {
		// The file is the whole policy: name it and pin its bytes.
		data, err := os.ReadFile(o.policyFile)
		if err != nil {
			return nil, usageError{err}
		}
		w.summary.PolicyURI = fileURI(o.policyFile)
		w.summary.PolicyDigest = map[string]string{"sha256": sha256Hex(data)}
	} else {
		// Flags (alone or over a file): the policy applied, in the URI itself.
		policy.Digest = ""
		data, err := json.Marshal(policy)
		if err != nil {
			return nil, err
		}
		w.summary.PolicyURI = "data:application/json," + url.PathEscape(string(data))
		w.summary.PolicyDigest = map[string]string{"sha256": sha256Hex(data)}
	}
	// Check the configuration now, with a stand-in subject, rather than after the work.
	probe := w.summary
	probe.Subjects = []*intoto.ResourceDescriptor{{Name: "probe", Digest: map[string]string{"sha256": strings.Repeat("0", 64)}}}
	if _, err := verify.NewVSA(probe); err != nil {
		return nil, usageError{err}
	}
	return w, nil
}

// write signs and writes the VSA: PASSED at the lowest level of the reports when
// every artifact verified, FAILED otherwise.
func (w *vsaWriter) write(ctx context.Context, bundlePath string, bundleJSON []byte, results []artifactResult) error {
	s := w.summary
	s.InputAttestations = []*intoto.ResourceDescriptor{{Uri: fileURI(bundlePath), Digest: map[string]string{"sha256": sha256Hex(bundleJSON)}}}
	s.Passed = len(results) > 0
	level := 3
	for _, r := range results {
		s.Subjects = append(s.Subjects, &intoto.ResourceDescriptor{Name: subjectName(r), Digest: map[string]string{"sha256": r.Digest}})
		s.Passed = s.Passed && r.Verified
		level = min(level, r.BuildLevel)
	}
	w.result = verify.VSAFailed
	if s.Passed {
		w.result = verify.VSAPassed
		s.VerifiedLevels = []string{fmt.Sprintf("SLSA_BUILD_LEVEL_%d", level)}
	}
	st, err := verify.NewVSA(s)
	if err != nil {
		return err
	}
	env, err := verify.SignVSA(ctx, st, w.signer)
	if err != nil {
		return err
	}
	if err := attest.WriteFileAtomic(w.out, env, 0o644); err != nil {
		return envError{err}
	}
	return nil
}

// subjectName is the provenance's name for the artifact when it was found there,
// else the file's base name (or the digest given).
func subjectName(r artifactResult) string {
	for _, sub := range r.Statement.GetSubject() {
		if strings.EqualFold(sub.GetDigest()["sha256"], r.Digest) {
			return sub.GetName()
		}
	}
	if strings.HasPrefix(r.Artifact, "sha256:") {
		return r.Artifact
	}
	return filepath.Base(r.Artifact)
}

func fileURI(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(path)}).String()
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
