package ociarchive

import (
	"io/fs"
	"syscall"
)

// fileID returns the device and inode, link count and rdev of fi.
func fileID(fi fs.FileInfo) (id [2]uint64, nlink, rdev uint64, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return id, 0, 0, false
	}
	return [2]uint64{st.Dev, st.Ino}, uint64(st.Nlink), st.Rdev, true
}
