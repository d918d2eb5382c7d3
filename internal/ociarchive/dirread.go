package ociarchive

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// readDir walks a directory into entries owned by 0:0. Hardlinked files
// (same device and inode) stay hardlinks.
func readDir(ctx context.Context, root string) ([]*entry, error) {
	// WalkDir does not descend into a symlinked root; resolve it first.
	root, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errInvalidLayer, err)
	}
	var out []*entry
	seen := make(map[[2]uint64]string)
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		e := &entry{path: rel, mode: fileMode(fi.Mode())}
		id, nlink, rdev, hasID := fileID(fi)
		switch m := fi.Mode(); {
		case m.IsDir():
			e.typ = tar.TypeDir
		case m.IsRegular():
			if hasID && nlink > 1 {
				if first, ok := seen[id]; ok {
					e.typ, e.linkname = tar.TypeLink, first
					break
				}
				seen[id] = rel
			}
			e.typ, e.size = tar.TypeReg, fi.Size()
			e.open = func() (io.ReadCloser, error) { return os.Open(p) }
		case m&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			e.typ, e.linkname = tar.TypeSymlink, t
		case m&fs.ModeNamedPipe != 0:
			e.typ = tar.TypeFifo
		case m&fs.ModeDevice != 0 && hasID:
			e.typ = tar.TypeBlock
			if m&fs.ModeCharDevice != 0 {
				e.typ = tar.TypeChar
			}
			e.devmajor, e.devminor = devMajor(rdev), devMinor(rdev)
		default:
			return fmt.Errorf("%w: %s is a %v, which a layer cannot hold; remove it from the directory", errInvalidLayer, p, m.Type())
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// fileMode maps Go's mode bits to the permission bits of a tar header.
func fileMode(m fs.FileMode) int64 {
	v := int64(m.Perm())
	if m&fs.ModeSetuid != 0 {
		v |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		v |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		v |= 0o1000
	}
	return v
}

// Linux dev_t encoding, as glibc's major(3) and minor(3).
func devMajor(dev uint64) int64 { return int64((dev>>8)&0xfff | (dev>>32)&^0xfff) }
func devMinor(dev uint64) int64 { return int64(dev&0xff | (dev>>12)&^0xff) }
