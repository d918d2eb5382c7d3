package ociarchive

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// gzipLevel is fixed: the compressed bytes, and so the layer digests, depend on it.
const gzipLevel = 6

func unixTime(epoch int64) time.Time { return time.Unix(epoch, 0).UTC() }

// loadLayer reads a directory or a tar file into normalized entries.
func loadLayer(ctx context.Context, src string, sp *spool) ([]*entry, error) {
	fi, err := os.Stat(src)
	if err != nil {
		return nil, fmt.Errorf("%w: %w; pass an existing directory or tar file", errInvalidLayer, err)
	}
	var ents []*entry
	if fi.IsDir() {
		ents, err = readDir(ctx, src)
	} else {
		ents, err = readTarFile(ctx, src, sp)
	}
	if err != nil {
		return nil, err
	}
	return normalize(ents)
}

func readTarFile(ctx context.Context, name string, sp *spool) ([]*entry, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errInvalidLayer, err)
	}
	defer f.Close()
	return readTar(ctx, f, sp)
}

// mountpointEntries is the layer Options.Mountpoints adds: the sandbox's
// binds plus the mounts of containerd's default spec, which runc cannot
// create on a read-only rootfs view. Modes are Debian's.
func mountpointEntries() []*entry {
	return []*entry{
		{path: "dev", typ: tar.TypeDir, mode: 0o755},
		{path: "inputs", typ: tar.TypeDir, mode: 0o755},
		{path: "out", typ: tar.TypeDir, mode: 0o755},
		{path: "proc", typ: tar.TypeDir, mode: 0o555},
		{path: "run", typ: tar.TypeDir, mode: 0o755},
		{path: "src", typ: tar.TypeDir, mode: 0o755},
		{path: "sys", typ: tar.TypeDir, mode: 0o555},
		{path: "tmp", typ: tar.TypeDir, mode: 0o1777},
	}
}

// writeTar writes normalized entries as a tar stream.
func writeTar(ctx context.Context, w io.Writer, ents []*entry, epoch int64) error {
	tw := tar.NewWriter(w)
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := tw.WriteHeader(e.header(epoch)); err != nil {
			return fmt.Errorf("writing %q: %w", e.path, err)
		}
		if e.typ == tar.TypeReg {
			if err := copyData(tw, e); err != nil {
				return err
			}
		}
	}
	return tw.Close()
}

// copyData copies exactly e.size bytes: a file that changed size since it was
// listed would otherwise corrupt the tar.
func copyData(w io.Writer, e *entry) error {
	r, err := e.open()
	if err != nil {
		return fmt.Errorf("%w: %w", errInvalidLayer, err)
	}
	defer r.Close()
	if _, err := io.CopyN(w, r, e.size); err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: %q shrank while it was read; do not change inputs during the build", errInvalidLayer, e.path)
		}
		return fmt.Errorf("%w: reading %q: %w", errInvalidLayer, e.path, err)
	}
	if n, _ := r.Read(make([]byte, 1)); n > 0 {
		return fmt.Errorf("%w: %q grew while it was read; do not change inputs during the build", errInvalidLayer, e.path)
	}
	return nil
}

// blob is a finished layer or JSON document waiting in a temporary file.
type blob struct {
	desc Descriptor
	path string // temporary file; empty for data
	data []byte
}

// writeLayer writes ents as a gzip-compressed layer blob into dir and returns
// its descriptor and diff_id.
func writeLayer(ctx context.Context, dir string, ents []*entry, epoch int64) (blob, string, error) {
	f, err := os.CreateTemp(dir, "layer-*")
	if err != nil {
		return blob{}, "", err
	}
	defer f.Close()
	compressed := sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, compressed)}
	zw, err := gzip.NewWriterLevel(cw, gzipLevel)
	if err != nil {
		return blob{}, "", err
	}
	// gzip.Writer's header is already fixed: no name, no comment, mtime 0.
	uncompressed := sha256.New()
	if err := writeTar(ctx, io.MultiWriter(zw, uncompressed), ents, epoch); err != nil {
		return blob{}, "", err
	}
	if err := zw.Close(); err != nil {
		return blob{}, "", err
	}
	if err := f.Close(); err != nil {
		return blob{}, "", err
	}
	b := blob{
		desc: Descriptor{MediaType: mediaTypeLayerGz, Digest: digestOf(compressed), Size: cw.n},
		path: f.Name(),
	}
	return b, digestOf(uncompressed), nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func digestOf(h interface{ Sum([]byte) []byte }) string {
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
