//go:build !linux

package ociarchive

import "io/fs"

// fileID is only implemented on Linux; elsewhere hardlinks in a directory
// input become copies and devices are refused.
func fileID(fs.FileInfo) (id [2]uint64, nlink, rdev uint64, ok bool) {
	return id, 0, 0, false
}
