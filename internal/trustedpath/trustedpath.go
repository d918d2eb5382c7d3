//go:build unix

// Package trustedpath checks that a program slsabox runs as root (a KMS plugin,
// gVisor's runsc) could not have been replaced by another user.
package trustedpath

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Check refuses a program that someone other than root, this process's user or the
// owner of the running program could have replaced, before slsabox, which runs as
// root, runs it or has it run: the file must be a regular file writable only by its
// owner, and every directory above it up to / owned by a trusted user and writable
// only by its owner, unless it is sticky (as /tmp is: others cannot rename what they
// do not own). path should be absolute and free of symbolic links.
func Check(path string) error {
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
