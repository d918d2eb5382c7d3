// Package sbomcheck runs scripts/sbom-validate, the independent validator of SBOMs
// against the official CycloneDX 1.6 and SPDX 2.3 JSON schemas (Ajv on node; not the
// Go libraries that write slsabox's SBOMs), so that tests can check what a build
// produced: a bare SBOM, its in-toto Statement, DSSE envelope or Sigstore bundle.
// scripts/tools.sh sbom-validate installs the validator's packages; in tests,
// testenv.SBOMValidator finds it (and fails in CI when it is missing). Tests only.
package sbomcheck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
)

// ErrInvalid is returned when a file is not a valid SBOM of a supported format; the
// error carries the validator's report (each fault with its JSON path).
var ErrInvalid = errors.New("not a valid SBOM")

// ErrValidator is returned when the validator cannot run: node missing, its packages
// not installed (scripts/tools.sh sbom-validate), or a vendored schema altered.
var ErrValidator = errors.New("the SBOM validator cannot run")

// Script returns the validator's path in the checkout at root.
func Script(root string) string {
	return filepath.Join(root, "scripts", "sbom-validate", "validate.js")
}

// Validate runs the validator script with node on files. It returns the report
// (one "FILE: valid FORMAT" line per file) and nil when every file is valid, an error
// wrapping ErrInvalid when one is not, and one wrapping ErrValidator when the
// validator cannot run.
func Validate(ctx context.Context, node, script string, files ...string) (string, error) {
	if len(files) == 0 {
		return "", fmt.Errorf("%w: no file to validate", ErrValidator)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, node, append([]string{script}, files...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return stdout.String(), nil
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		return stdout.String(), fmt.Errorf("%w:\n%s%s", ErrInvalid, stdout.String(), stderr.String())
	default:
		return stdout.String(), fmt.Errorf("%w: %s %s: %v\n%s%s", ErrValidator, node, script, err, stdout.String(), stderr.String())
	}
}
