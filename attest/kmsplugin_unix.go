//go:build unix

package attest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/sigstore/sigstore/pkg/signature/kms/cliplugin"
)

// checkKMSPlugin refuses to run the KMS plugin program sigstore-kms-SCHEME that PATH
// names when someone other than root, this process's user or the owner of the running
// program could have replaced it: the plugin sees every statement before it is signed
// and returns the signature, so it is as trusted as slsabox itself. The file (after
// symbolic links) and its directory must not be writable by group or others. A
// missing plugin is not an error here: sigstore's kms.Get reports it.
func checkKMSPlugin(scheme string) error {
	p, err := exec.LookPath(cliplugin.PluginBinaryPrefix + scheme)
	if err != nil {
		return nil
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return fmt.Errorf("resolving the KMS plugin %s: %w", p, err)
	}
	trusted := map[uint32]bool{0: true, uint32(os.Geteuid()): true}
	if self, err := os.Executable(); err == nil {
		if fi, err := os.Stat(self); err == nil {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				trusted[st.Uid] = true
			}
		}
	}
	for _, path := range []string{real, filepath.Dir(real)} {
		fi, err := os.Stat(path)
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			continue
		}
		switch {
		case !trusted[st.Uid]:
			return fmt.Errorf("%s is owned by uid %d, not by root, this user or the owner of slsabox", path, st.Uid)
		case fi.Mode().Perm()&0o022 != 0:
			return fmt.Errorf("%s is writable by other users (mode %v)", path, fi.Mode().Perm())
		}
	}
	return nil
}
