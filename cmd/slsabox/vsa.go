package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/spf13/pflag"

	"github.com/slsabox/slsabox/attest"
	"github.com/slsabox/slsabox/attest/verify"
	"github.com/slsabox/slsabox/internal/atomicfile"
	"github.com/slsabox/slsabox/internal/hint"
)

// vsaFlags are the flags of slsabox verify and slsabox rebuild that ask for a signed
// Verification Summary Attestation.
type vsaFlags struct {
	out, key, verifierID, resourceURI string
}

func (f *vsaFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.out, "vsa-out", "", "also write a signed Verification Summary Attestation (DSSE JSON) to this file")
	fs.StringVar(&f.key, "vsa-key", "", "the verifier's signing key for the VSA (PEM file or KMS URI; $"+attest.PassphraseEnv+" for an encrypted key)")
	fs.StringVar(&f.resourceURI, "vsa-resource-uri", "", "the VSA's resourceUri: where the artifacts come from, e.g. https://example.org/releases/v1/hello (required with --vsa-out)")
	fs.StringVar(&f.verifierID, "vsa-verifier-id", defaultVerifierID, "the VSA's verifier id: who verified")
}

// check finds flag mistakes before any work.
func (f *vsaFlags) check() error {
	switch {
	case (f.out == "") != (f.key == ""):
		return usageError{errors.New("--vsa-out and --vsa-key go together: the VSA is signed with --vsa-key")}
	case f.out != "" && f.resourceURI == "":
		return hint.Wrap(usageError{errors.New("--vsa-out needs --vsa-resource-uri")},
			"give the URI the artifacts are fetched from; the VSA's consumer matches it (slsa-verifier verify-vsa --resource-uri)")
	}
	return nil
}

// vsaWriter writes the VSA of one slsabox verify or rebuild run. Everything that can
// be wrong with its configuration (key, URIs, policy file) is found before the work.
type vsaWriter struct {
	signer  attest.Signer
	summary verify.Summary
	out     string
	result  string
}

// newVSAWriter prepares the VSA for f; the policy is policyFile when it is the whole
// policy (not overridden by flags), else policy itself.
func newVSAWriter(ctx context.Context, f vsaFlags, policyFile string, policy verify.Policy, overridden bool) (*vsaWriter, error) {
	signer, err := attest.LoadSigner(ctx, f.key)
	if err != nil {
		return nil, fmt.Errorf("--vsa-key: %w", err)
	}
	w := &vsaWriter{signer: signer, out: f.out}
	w.summary = verify.Summary{VerifierID: f.verifierID, ResourceURI: f.resourceURI}
	if policyFile != "" && !overridden {
		// The file is the whole policy: name it and pin its bytes.
		data, err := os.ReadFile(policyFile)
		if err != nil {
			return nil, usageError{err}
		}
		w.summary.PolicyURI = fileURI(policyFile)
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

// writeVerify signs and writes the VSA of slsabox verify: PASSED at the lowest level
// of the reports when every artifact verified, FAILED otherwise.
func (w *vsaWriter) writeVerify(ctx context.Context, bundlePath string, bundleJSON []byte, results []artifactResult) error {
	var subjects []*intoto.ResourceDescriptor
	passed, level := len(results) > 0, 3
	var optOuts []string
	for _, r := range results {
		alg, h, err := verify.ParseDigest(r.Digest)
		if err != nil {
			return err
		}
		subjects = append(subjects, &intoto.ResourceDescriptor{Name: subjectName(r, alg, h), Digest: map[string]string{alg: h}})
		passed = passed && r.Verified
		level = min(level, r.BuildLevel)
		for _, o := range r.OptOuts {
			if !slices.Contains(optOuts, o) {
				optOuts = append(optOuts, o)
			}
		}
	}
	var levels []string
	if passed {
		levels = []string{fmt.Sprintf("SLSA_BUILD_LEVEL_%d", level)}
	}
	w.summary.OptOuts = optOuts
	return w.write(ctx, bundlePath, bundleJSON, subjects, levels)
}

// write signs and writes the VSA over subjects: PASSED with levels when levels is
// not empty, FAILED otherwise.
func (w *vsaWriter) write(ctx context.Context, bundlePath string, bundleJSON []byte, subjects []*intoto.ResourceDescriptor, levels []string) error {
	s := w.summary
	s.InputAttestations = []*intoto.ResourceDescriptor{{Uri: fileURI(bundlePath), Digest: map[string]string{"sha256": sha256Hex(bundleJSON)}}}
	s.Subjects = subjects
	s.Passed = len(levels) > 0
	s.VerifiedLevels = levels
	w.result = verify.VSAFailed
	if s.Passed {
		w.result = verify.VSAPassed
	}
	st, err := verify.NewVSA(s)
	if err != nil {
		return err
	}
	env, err := attest.SignVSA(ctx, st, w.signer)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(w.out, env, 0o644); err != nil {
		return envError{err}
	}
	return nil
}

// subjectName is the provenance's name for the artifact (whose digest is h in
// algorithm alg) when it was found there, else the file's base name (or the digest
// given).
func subjectName(r artifactResult, alg, h string) string {
	for _, sub := range r.Statement.GetSubject() {
		if strings.EqualFold(sub.GetDigest()[alg], h) {
			return sub.GetName()
		}
	}
	if _, _, err := verify.ParseDigest(r.Artifact); err == nil && strings.Contains(r.Artifact, ":") {
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
