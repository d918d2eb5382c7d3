package ociarchive

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"path"
	"strings"
	"testing"
)

func FuzzReadTar(f *testing.F) {
	f.Add(sampleTar(f))
	f.Add(gz(f, sampleTar(f)))
	f.Add(gnuSparseTar(f))
	f.Add(makeTar(f, reg("../x", 0o644, "x")))
	f.Add(makeTar(f, reg("/x", 0o644, "x")))
	f.Add(makeTar(f, link(tar.TypeSymlink, "l", "/"), reg("l/x", 0o644, "x")))
	f.Add(makeTar(f, reg("a", 0o644, "x"), link(tar.TypeLink, "b", "a"), link(tar.TypeLink, "0", "b")))
	f.Add(makeTar(f, dir("d", 0o700), dir("d/", 0o755), reg(strings.Repeat("long/", 40)+"name", 0o644, "")))
	f.Fuzz(func(t *testing.T, data []byte) {
		sp := &memSpool{}
		ents, err := readTar(context.Background(), bytes.NewReader(data), &spool{w: sp, r: sp})
		if err == nil {
			ents, err = normalize(ents)
		}
		if err != nil {
			return
		}
		checkCanonical(t, ents)

		// Writing the accepted layer and reading it back is the identity.
		var once bytes.Buffer
		if err := writeTar(context.Background(), &once, ents, 0); err != nil {
			t.Fatalf("writing an accepted layer: %v", err)
		}
		sp2 := &memSpool{}
		again, err := readTar(context.Background(), bytes.NewReader(once.Bytes()), &spool{w: sp2, r: sp2})
		if err == nil {
			again, err = normalize(again)
		}
		if err != nil {
			t.Fatalf("re-reading our own layer: %v", err)
		}
		var twice bytes.Buffer
		if err := writeTar(context.Background(), &twice, again, 0); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(once.Bytes(), twice.Bytes()) {
			t.Fatal("normalizing a normalized layer changed it")
		}
	})
}

// checkCanonical asserts the invariants normalize promises.
func checkCanonical(t *testing.T, ents []*entry) {
	t.Helper()
	seen := make(map[string]*entry, len(ents))
	for i, e := range ents {
		p := e.path
		if p == "" || p == "." || strings.HasPrefix(p, "/") || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../") {
			t.Fatalf("accepted path %q is not relative and clean", p)
		}
		if i > 0 && ents[i-1].path >= p {
			t.Fatalf("%q follows %q: not sorted or not unique", p, ents[i-1].path)
		}
		if d := path.Dir(p); d != "." {
			if pe, ok := seen[d]; !ok || pe.typ != tar.TypeDir {
				t.Fatalf("%q precedes its parent directory %q", p, d)
			}
		}
		if e.typ == tar.TypeLink {
			te, ok := seen[e.linkname]
			if !ok || te.typ == tar.TypeDir || te.typ == tar.TypeLink {
				t.Fatalf("hardlink %q -> %q does not point to an earlier file", p, e.linkname)
			}
		}
		if e.typ == tar.TypeReg {
			r, err := e.open()
			if err != nil {
				t.Fatal(err)
			}
			n, _ := io.Copy(io.Discard, r)
			if n != e.size {
				t.Fatalf("%q: spooled %d bytes, size %d", p, n, e.size)
			}
		}
		seen[p] = e
	}
}

// memSpool is an in-memory spool backing, for small inputs and tests.
type memSpool struct{ b []byte }

func (m *memSpool) Write(p []byte) (int, error) { m.b = append(m.b, p...); return len(p), nil }

func (m *memSpool) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(m.b)) {
		return 0, io.EOF
	}
	n := copy(p, m.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
