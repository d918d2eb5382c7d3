package ociarchive

import (
	"archive/tar"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// entry is one normalized layer member. path is relative, clean, without a
// trailing slash; for a hardlink, linkname is the path of the entry holding
// the data.
type entry struct {
	path     string
	typ      byte // tar.TypeReg, TypeDir, TypeSymlink, TypeLink, TypeChar, TypeBlock, TypeFifo
	mode     int64
	uid, gid int
	size     int64
	linkname string
	devmajor int64
	devminor int64
	open     func() (io.ReadCloser, error) // regular files only
}

// header returns the tar header written for e.
func (e *entry) header(epoch int64) *tar.Header {
	// Plain ustar, with a PAX header only for a field ustar cannot hold (a
	// long or non-ASCII name, a large id). Not GNU: its atime and ctime fields
	// sit where ustar keeps the name prefix, and readers that ignore the magic
	// (Python's tarfile) read them as one ("00000000000/index.json").
	// AccessTime and ChangeTime stay zero, so no PAX atime/ctime is written.
	h := &tar.Header{
		Typeflag: e.typ,
		Name:     e.path,
		Linkname: e.linkname,
		Mode:     e.mode,
		Uid:      e.uid,
		Gid:      e.gid,
		ModTime:  unixTime(epoch),
		Format:   tar.FormatPAX,
	}
	switch e.typ {
	case tar.TypeDir:
		h.Name += "/"
	case tar.TypeReg:
		h.Size = e.size
	case tar.TypeChar, tar.TypeBlock:
		h.Devmajor, h.Devminor = e.devmajor, e.devminor
	}
	return h
}

// cleanName turns a tar member name into a clean relative path. It returns
// "." for the root directory.
func cleanName(name string) (string, error) {
	switch {
	case name == "":
		return "", fmt.Errorf("%w: empty name", errUnsafeEntry)
	case strings.ContainsRune(name, 0):
		return "", fmt.Errorf("%w: name %q contains a NUL byte", errUnsafeEntry, name)
	case strings.HasPrefix(name, "/"):
		return "", fmt.Errorf("%w: absolute name %q; rebuild the tar with relative names (tar -C DIR .)", errUnsafeEntry, name)
	}
	for _, c := range strings.Split(name, "/") {
		if c == ".." {
			return "", fmt.Errorf("%w: name %q has a \"..\" component that could escape the layer root", errUnsafeEntry, name)
		}
	}
	return path.Clean(name), nil
}

// normalize turns entries in input order into the canonical layer: unique
// paths, explicit parents, hardlink groups led by their smallest path, sorted.
// Hardlink entries must name a clean path of an earlier entry.
func normalize(in []*entry) ([]*entry, error) {
	byPath := make(map[string]*entry, len(in))
	// leader maps a hardlink (or its target) to the entry holding the data.
	root := make(map[string]string)
	for _, e := range in {
		if old, ok := byPath[e.path]; ok {
			if old.typ == tar.TypeDir && e.typ == tar.TypeDir {
				*old = *e // a later directory entry only updates metadata
				continue
			}
			return nil, fmt.Errorf("%w: %q appears twice; repack the tar so every path occurs once", errUnsafeEntry, e.path)
		}
		if e.typ == tar.TypeLink {
			if e.linkname == e.path {
				return nil, fmt.Errorf("%w: hardlink %q points to itself", errUnsafeEntry, e.path)
			}
			t, ok := byPath[e.linkname]
			if !ok {
				return nil, fmt.Errorf("%w: hardlink %q points to %q, which is not an earlier entry of the layer", errUnsafeEntry, e.path, e.linkname)
			}
			if t.typ == tar.TypeDir {
				return nil, fmt.Errorf("%w: hardlink %q points to directory %q", errUnsafeEntry, e.path, e.linkname)
			}
			r := e.linkname
			if rr, ok := root[r]; ok {
				r = rr
			}
			root[e.path] = r
		}
		byPath[e.path] = e
	}

	// Every ancestor must be a directory; missing ones are added.
	paths := make([]string, 0, len(byPath))
	for p := range byPath {
		paths = append(paths, p)
	}
	for _, p := range paths {
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			pe, ok := byPath[d]
			if !ok {
				byPath[d] = &entry{path: d, typ: tar.TypeDir, mode: 0o755}
				continue
			}
			if pe.typ != tar.TypeDir {
				what := "a non-directory"
				if pe.typ == tar.TypeSymlink {
					what = "a symlink"
				}
				return nil, fmt.Errorf("%w: %q lies below %q, which is %s", errUnsafeEntry, p, d, what)
			}
		}
	}

	// Hardlink groups: the smallest path carries the data, the others link to it,
	// so that the target always precedes its links in the sorted layer.
	groups := make(map[string][]string)
	for l, r := range root {
		groups[r] = append(groups[r], l)
	}
	for r, members := range groups {
		members = append(members, r)
		sort.Strings(members)
		lead := members[0]
		data := *byPath[r]
		data.path = lead
		byPath[lead] = &data
		for _, m := range members[1:] {
			byPath[m] = &entry{path: m, typ: tar.TypeLink, linkname: lead, mode: data.mode, uid: data.uid, gid: data.gid}
		}
	}

	out := make([]*entry, 0, len(byPath))
	for _, e := range byPath {
		out = append(out, e)
	}
	// A parent is a prefix of its children, so plain string order puts it first.
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, nil
}
