package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// SBOMValidator returns the path of node and of the independent SBOM schema validator,
// scripts/sbom-validate/validate.js (run it with internal/sbomcheck), once node is on
// $PATH and the validator's npm packages are installed by scripts/tools.sh.
func SBOMValidator(t testing.TB) (node, script string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		skipOrFail(t, "node is not on PATH: install it (apt-get install -y nodejs), then scripts/tools.sh sbom-validate")
	}
	dir := filepath.Join(RepoRoot(t), "scripts", "sbom-validate")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "ajv", "package.json")); err != nil {
		skipOrFail(t, "the SBOM validator's packages are not installed in "+dir+": run scripts/tools.sh sbom-validate")
	}
	return node, filepath.Join(dir, "validate.js")
}
