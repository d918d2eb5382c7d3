//go:build unix

package attest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/sigstore/sigstore/pkg/signature/kms/cliplugin"

	"github.com/slsabox/slsabox/internal/trustedpath"
)

// errNoPlugin: no plugin program for the scheme beside the program or on PATH.
var errNoPlugin = errors.New("no KMS plugin program")

// findKMSPlugin returns the absolute, symlink-free path of the plugin program
// sigstore-kms-SCHEME: beside the running program first (where `make build` and the
// GitHub Action put it, and which sudo's reset PATH does not hide), else in the first
// absolute PATH directory that has it (relative and empty PATH entries, which mean
// some current directory, are skipped). The first one found must pass trusted; a later
// one is never tried instead.
func findKMSPlugin(scheme string) (string, error) {
	name := cliplugin.PluginBinaryPrefix + scheme
	var dirs []string
	if self, err := os.Executable(); err == nil {
		dirs = append(dirs, filepath.Dir(self))
	}
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if filepath.IsAbs(d) {
			dirs = append(dirs, d)
		}
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			return "", fmt.Errorf("resolving the KMS plugin %s: %w", p, err)
		}
		if err := trusted(real); err != nil {
			return "", err
		}
		return real, nil
	}
	return "", fmt.Errorf("%w %s beside slsabox or in an absolute PATH directory", errNoPlugin, name)
}

// trusted refuses a plugin that someone other than root, this process's user or the
// owner of the running program could have replaced (trustedpath.Check): the plugin
// sees every statement before it is signed and returns the signature, so it is as
// trusted as slsabox itself. It is run by this very path afterwards.
func trusted(path string) error { return trustedpath.Check(path) }
