//go:build unix

package trustroot

import (
	"fmt"
	"os"
	"syscall"
)

// checkOwner refuses a cache file or directory that another user could have written:
// owned by someone other than this process's user (or root), or writable by its group
// or by everyone, or (the record itself) a symbolic link. slsabox verify may run as
// root with a cache directory from the environment (XDG_CACHE_HOME, SLSABOX_TUF_CACHE),
// and a root planted there would be trusted; ssh refuses such files the same way.
func checkOwner(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	switch euid := os.Geteuid(); {
	case fi.Mode()&os.ModeSymlink != 0:
		return fmt.Errorf("%s is a symbolic link", path)
	case int(st.Uid) != euid && st.Uid != 0:
		return fmt.Errorf("%s is owned by uid %d, not by this user (uid %d) or root", path, st.Uid, euid)
	case fi.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("%s is writable by other users (mode %v)", path, fi.Mode().Perm())
	}
	return nil
}
