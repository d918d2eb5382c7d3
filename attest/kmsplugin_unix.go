//go:build unix

package attest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/sigstore/sigstore/pkg/signature/kms/cliplugin"
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

// trusted refuses a program that someone other than root, this process's user or the
// owner of the running program could have replaced: the plugin sees every statement
// before it is signed and returns the signature, so it is as trusted as slsabox itself.
// The file must be a regular file writable only by its owner, and every directory
// above it up to / owned by a trusted user and writable only by its owner, unless it
// is sticky (as /tmp is: others cannot rename what they do not own). It is run by this
// very path afterwards.
func trusted(path string) error {
	uids := map[uint32]bool{0: true, uint32(os.Geteuid()): true}
	if self, err := os.Executable(); err == nil {
		if fi, err := os.Stat(self); err == nil {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				uids[st.Uid] = true
			}
		}
	}
	for p := path; ; p = filepath.Dir(p) {
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return fmt.Errorf("%s: no owner to check", p)
		}
		switch {
		case p == path && !fi.Mode().IsRegular():
			return fmt.Errorf("%s is not a regular file", p)
		case !uids[st.Uid]:
			return fmt.Errorf("%s is owned by uid %d, not by root, this user or the owner of slsabox", p, st.Uid)
		case fi.Mode().Perm()&0o022 != 0 && !(fi.IsDir() && fi.Mode()&fs.ModeSticky != 0):
			return fmt.Errorf("%s is writable by its group or by others (mode %v)", p, fi.Mode().Perm())
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}
