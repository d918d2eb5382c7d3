package ociarchive

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// File is one regular file of the layer [WriteLayout] assembles.
type File struct {
	// Path is where the file goes in the image: absolute, clean, not "/".
	Path string
	// Source is the host file copied; it must be a regular file, and is opened
	// without following a symlink.
	Source string
	// Mode holds the permission bits (0o777 at most: no setuid, setgid or sticky).
	Mode fs.FileMode
}

// WriteLayout writes an image of one layer holding files (owned by 0:0, parents
// added as 0755 directories) as an OCI image layout into dir, which must be an
// empty directory: oci-layout, index.json, blobs/sha256/... The same files and
// Options always give the same bytes, as for an archive. With no files the image
// has no layer at all (FROM scratch with nothing added).
func WriteLayout(ctx context.Context, dir string, files []File, opts Options) (*Result, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	ents := make([]*entry, 0, len(files))
	for _, f := range files {
		e, err := fileToEntry(f)
		if err != nil {
			return nil, err
		}
		ents = append(ents, e)
	}
	ents, err := normalize(ents)
	if err != nil {
		return nil, err
	}
	if des, err := os.ReadDir(dir); err != nil || len(des) > 0 {
		return nil, fmt.Errorf("%w: %s must be an existing empty directory (err: %v)", errInvalidOptions, dir, err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		return nil, err
	}
	// Layers are spooled inside dir and renamed into blobs/: no copy, same file system.
	tmp, err := os.MkdirTemp(dir, ".tmp-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	var (
		layers  []blob
		diffIDs []string
	)
	if len(ents) > 0 {
		b, diffID, err := writeLayer(ctx, tmp, ents, opts.Epoch)
		if err != nil {
			return nil, fmt.Errorf("layer: %w", err)
		}
		layers, diffIDs = append(layers, b), append(diffIDs, diffID)
	}
	img, err := assemble(layers, diffIDs, opts)
	if err != nil {
		return nil, err
	}
	for _, b := range img.blobs {
		dst := filepath.Join(dir, "blobs", "sha256", strings.TrimPrefix(b.desc.Digest, "sha256:"))
		if b.path != "" {
			err = os.Rename(b.path, dst)
			if err == nil {
				err = os.Chmod(dst, 0o644)
			}
		} else {
			err = os.WriteFile(dst, b.data, 0o644)
		}
		if err != nil {
			return nil, fmt.Errorf("writing blob %s: %w", b.desc.Digest, err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "index.json"), img.index, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644); err != nil {
		return nil, err
	}
	return img.res, nil
}

// fileToEntry checks f and turns it into a layer entry whose data is read from
// f.Source, without following a symlink, when the layer is written.
func fileToEntry(f File) (*entry, error) {
	p, ok := strings.CutPrefix(f.Path, "/")
	if !ok || p == "" || f.Path != filepath.Clean(f.Path) {
		return nil, fmt.Errorf("%w: image path %q is not a clean absolute file path such as /app/hello", errInvalidOptions, f.Path)
	}
	name, err := cleanName(p)
	if err != nil {
		return nil, err
	}
	if f.Mode&^0o777 != 0 {
		return nil, fmt.Errorf("%w: mode %#o of %s has bits beyond 0777; setuid, setgid and sticky are not allowed", errInvalidOptions, uint32(f.Mode), f.Path)
	}
	fi, err := os.Lstat(f.Source)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errInvalidLayer, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file (%v); only regular files go into an assembled image", errInvalidLayer, f.Source, fi.Mode().Type())
	}
	src := f.Source
	return &entry{
		path: name, typ: tar.TypeReg, mode: int64(f.Mode), size: fi.Size(),
		open: func() (io.ReadCloser, error) { return os.OpenFile(src, os.O_RDONLY|syscall.O_NOFOLLOW, 0) },
	}, nil
}
