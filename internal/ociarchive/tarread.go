package ociarchive

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// spool keeps the file data of tar inputs until the layer is written: a tar
// stream cannot be re-read in sorted order.
type spool struct {
	w   io.Writer
	r   io.ReaderAt
	off int64
}

func (s *spool) add(r io.Reader) (off, n int64, err error) {
	off = s.off
	n, err = io.Copy(s.w, r)
	s.off += n
	return off, n, err
}

func (s *spool) section(off, n int64) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) {
		return io.NopCloser(io.NewSectionReader(s.r, off, n)), nil
	}
}

// readTar reads an untrusted tar stream, gzip-compressed or not, into entries
// in input order, spooling regular file data into sp. It applies the safety
// rules of cleanName and refuses member types a layer should not hold.
func readTar(ctx context.Context, r io.Reader, sp *spool) ([]*entry, error) {
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%w: bad gzip header: %w", errInvalidLayer, err)
		}
		defer zr.Close()
		r = zr
	} else {
		r = br
	}
	tr := tar.NewReader(r)
	var out []*entry
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: not a readable tar archive (%w); pass a directory, a .tar or a .tar.gz", errInvalidLayer, err)
		}
		e, err := tarEntry(h)
		if err != nil {
			return nil, err
		}
		if e == nil {
			continue
		}
		if e.typ == tar.TypeReg {
			off, n, err := sp.add(tr)
			if err != nil {
				return nil, fmt.Errorf("%w: reading data of %q: %w", errInvalidLayer, h.Name, err)
			}
			e.size = n
			e.open = sp.section(off, n)
		}
		out = append(out, e)
	}
}

// tarEntry validates one tar header. It returns nil for members that carry no
// file (the root directory, global PAX headers).
func tarEntry(h *tar.Header) (*entry, error) {
	if h.Typeflag == tar.TypeXGlobalHeader {
		return nil, nil
	}
	p, err := cleanName(h.Name)
	if err != nil {
		return nil, err
	}
	for k := range h.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return nil, fmt.Errorf("%w: %q is a sparse file; repack the tar without --sparse", errInvalidLayer, h.Name)
		}
	}
	if h.Uid < 0 || h.Gid < 0 {
		return nil, fmt.Errorf("%w: %q has a negative uid or gid", errInvalidLayer, h.Name)
	}
	e := &entry{path: p, typ: h.Typeflag, mode: h.Mode & 0o7777, uid: h.Uid, gid: h.Gid}
	switch h.Typeflag {
	case tar.TypeReg, tar.TypeDir, tar.TypeFifo:
	case tar.TypeSymlink:
		if h.Linkname == "" || strings.ContainsRune(h.Linkname, 0) {
			return nil, fmt.Errorf("%w: symlink %q has an empty or NUL-containing target", errUnsafeEntry, h.Name)
		}
		e.linkname = h.Linkname
	case tar.TypeLink:
		t, err := cleanName(h.Linkname)
		if err != nil {
			return nil, fmt.Errorf("hardlink %q: %w", h.Name, err)
		}
		e.linkname = t
	case tar.TypeChar, tar.TypeBlock:
		if h.Devmajor < 0 || h.Devminor < 0 {
			return nil, fmt.Errorf("%w: device %q has a negative number", errInvalidLayer, h.Name)
		}
		e.devmajor, e.devminor = h.Devmajor, h.Devminor
	case tar.TypeGNUSparse:
		return nil, fmt.Errorf("%w: %q is a sparse file; repack the tar without --sparse", errInvalidLayer, h.Name)
	default:
		return nil, fmt.Errorf("%w: %q has tar type %q, which a layer cannot hold", errInvalidLayer, h.Name, h.Typeflag)
	}
	if p == "." {
		if h.Typeflag != tar.TypeDir {
			return nil, fmt.Errorf("%w: the layer root %q is not a directory", errUnsafeEntry, h.Name)
		}
		return nil, nil // the root's own metadata is not part of a layer
	}
	return e, nil
}
