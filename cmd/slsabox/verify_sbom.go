package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/sigstore/sigstore-go/pkg/bundle"

	"github.com/slsabox/slsabox/attest"
	"github.com/slsabox/slsabox/attest/verify"
)

// errProvenanceFailed: an SBOM is checked against a verified provenance only.
var errProvenanceFailed = errors.New("not checked: the provenance did not verify")

// readBundle reads and parses a bundle file named on the command line (exit 2 when
// it cannot).
func readBundle(path string) (*bundle.Bundle, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usageError{err}
	}
	b, err := attest.ParseBundle(data)
	if err != nil {
		return nil, usageError{fmt.Errorf("%s: %w", path, err)}
	}
	return b, nil
}

// verifySBOM checks the SBOM bundle sb (read from name) against the first
// provenance in results that verified.
func verifySBOM(v *verify.Verifier, policy verify.Policy, sb *bundle.Bundle, name string, results []artifactResult) (artifactResult, error) {
	for _, r := range results {
		if r.Report == nil || !r.Verified {
			continue
		}
		rep, err := v.VerifySBOM(sb, r.Report, policy)
		return artifactResult{Artifact: name, Report: rep}, err
	}
	return artifactResult{Artifact: name, Error: errProvenanceFailed.Error(), Report: &verify.Report{}}, errProvenanceFailed
}
