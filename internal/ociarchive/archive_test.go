package ociarchive

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// member is one entry of a test input tar.
type member struct {
	hdr  tar.Header
	data string
}

func reg(name string, mode int64, data string) member {
	return member{tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data))}, data}
}

func dir(name string, mode int64) member {
	return member{hdr: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode}}
}

func link(typ byte, name, target string) member {
	return member{hdr: tar.Header{Typeflag: typ, Name: name, Linkname: target, Mode: 0o777}}
}

func makeTar(t testing.TB, ms ...member) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range ms {
		h := m.hdr
		if h.ModTime.IsZero() {
			h.ModTime = time.Unix(1700000000, 0)
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, m.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Name = "input.tar" // a header the output must not inherit
	zw.ModTime = time.Now()
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// sampleTar has a setuid root file, a symlink, a hardlink whose target sorts
// after it, non-root ids, a device, a fifo and a missing parent directory.
func sampleTar(t testing.TB) []byte {
	suid := reg("./bin/suidbox", 0o4755, "#!busybox")
	ids := reg("home/user/notes", 0o600, "mine")
	ids.hdr.Uid, ids.hdr.Gid, ids.hdr.Uname, ids.hdr.Gname = 1000, 1001, "user", "users"
	ids.hdr.PAXRecords = map[string]string{"SCHILY.xattr.user.x": "y"}
	dev := member{hdr: tar.Header{Typeflag: tar.TypeChar, Name: "dev/null", Mode: 0o666, Devmajor: 1, Devminor: 3}}
	fifo := member{hdr: tar.Header{Typeflag: tar.TypeFifo, Name: "run/fifo", Mode: 0o644}}
	sticky := dir("tmp/", 0o1777)
	long := reg("usr/share/"+strings.Repeat("very-long-directory-name/", 6)+"ünïcødé file", 0o644, "long")
	long.hdr.Uid = 100000000 // beyond octal ustar fields
	return makeTar(t,
		long,
		link(tar.TypeSymlink, "usr/share/far", "/"+strings.Repeat("target/", 30)),
		dir("./", 0o755),
		dir("bin/", 0o755),
		reg("bin/zz-data", 0o755, "shared"),
		link(tar.TypeLink, "bin/aa-link", "bin/zz-data"),
		link(tar.TypeLink, "bin/mm-link", "./bin/aa-link"),
		suid,
		link(tar.TypeSymlink, "bin/sh", "suidbox"),
		link(tar.TypeSymlink, "etc/abs", "/etc/passwd"),
		ids, dev, fifo, sticky,
	)
}

// readArchive returns the members of an OCI archive by name and checks the
// outer tar is sorted with fixed metadata.
func readArchive(t testing.TB, b []byte, epoch int64) map[string][]byte {
	t.Helper()
	out := make(map[string][]byte)
	tr := tar.NewReader(bytes.NewReader(b))
	prev := ""
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name <= prev {
			t.Errorf("outer tar: %q after %q", h.Name, prev)
		}
		prev = h.Name
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || !h.ModTime.Equal(time.Unix(epoch, 0)) {
			t.Errorf("outer tar: %q has metadata %d:%d %q %v", h.Name, h.Uid, h.Gid, h.Uname, h.ModTime)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = data
	}
}

func blobOf(t testing.TB, files map[string][]byte, d Descriptor) []byte {
	t.Helper()
	b, ok := files["blobs/sha256/"+strings.TrimPrefix(d.Digest, "sha256:")]
	if !ok {
		t.Fatalf("blob %s missing", d.Digest)
	}
	if got := fmt.Sprintf("sha256:%x", sha256.Sum256(b)); got != d.Digest || int64(len(b)) != d.Size {
		t.Fatalf("blob %s: content digest %s size %d, descriptor says size %d", d.Digest, got, len(b), d.Size)
	}
	return b
}

// layerHeaders returns the headers of a gzip layer blob.
func layerHeaders(t testing.TB, blob []byte) []*tar.Header {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(blob))
	if err != nil {
		t.Fatal(err)
	}
	if zr.Name != "" || !zr.ModTime.IsZero() {
		t.Errorf("gzip header has name %q mtime %v", zr.Name, zr.ModTime)
	}
	var hs []*tar.Header
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return hs
		}
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
	}
}

func build(t testing.TB, layers []string, opts Options) ([]byte, *Result) {
	t.Helper()
	var buf bytes.Buffer
	opts.TempDir = t.TempDir()
	res, err := writeArchive(context.Background(), &buf, layers, opts)
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), res
}

func TestBuildIsDeterministic(t *testing.T) {
	tmp := t.TempDir()
	plain := writeFile(t, tmp, "in.tar", sampleTar(t))
	zipped := writeFile(t, tmp, "in.tar.gz", gz(t, sampleTar(t)))
	tree := filepath.Join(tmp, "tree")
	os.MkdirAll(filepath.Join(tree, "b/c"), 0o755)
	writeFile(t, tree, "b/c/file", []byte("x"))
	writeFile(t, tree, "a", []byte("y"))
	os.Link(filepath.Join(tree, "b/c/file"), filepath.Join(tree, "b/hard"))
	os.Symlink("c/file", filepath.Join(tree, "b/sym"))

	full := Options{Ref: "slsabox.test/testbox:1", Env: []string{"PATH=/bin"}, Cmd: []string{"sh"}, WorkDir: "/src", Mountpoints: true, Epoch: 1700000000}
	tests := []struct {
		name   string
		layers []string
		opts   Options
	}{
		{"tar", []string{plain}, Options{}},
		{"gzip tar", []string{zipped}, Options{}},
		{"directory", []string{tree}, Options{}},
		{"all options", []string{plain, tree}, full},
		{"mountpoints only", nil, Options{Mountpoints: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, ra := build(t, tt.layers, tt.opts)
			// Input timestamps must not leak into the output.
			later := time.Now().Add(time.Hour)
			filepath.Walk(tree, func(p string, _ os.FileInfo, _ error) error { return os.Chtimes(p, later, later) })
			b, rb := build(t, tt.layers, tt.opts)
			if !bytes.Equal(a, b) {
				t.Fatalf("two builds differ (%d vs %d bytes)", len(a), len(b))
			}
			if ra.Manifest.Digest != rb.Manifest.Digest {
				t.Fatalf("manifest digests differ: %s %s", ra.Manifest.Digest, rb.Manifest.Digest)
			}
		})
	}

	// A plain and a gzip tar with the same members give the same image.
	a, _ := build(t, []string{plain}, Options{})
	b, _ := build(t, []string{zipped}, Options{})
	if !bytes.Equal(a, b) {
		t.Error("gzip and plain input tars give different archives")
	}
}

func TestTarRoundTrip(t *testing.T) {
	in := writeFile(t, t.TempDir(), "in.tar", sampleTar(t))
	arch, res := build(t, []string{in}, Options{Epoch: 42})
	files := readArchive(t, arch, 42)
	hs := layerHeaders(t, blobOf(t, files, res.Layers[0]))

	type want struct {
		typ      byte
		mode     int64
		uid, gid int
		link     string
	}
	wants := map[string]want{
		"bin/":            {tar.TypeDir, 0o755, 0, 0, ""},
		"bin/aa-link":     {tar.TypeReg, 0o755, 0, 0, ""}, // smallest path of the group holds the data
		"bin/mm-link":     {tar.TypeLink, 0o755, 0, 0, "bin/aa-link"},
		"bin/sh":          {tar.TypeSymlink, 0o777, 0, 0, "suidbox"},
		"bin/suidbox":     {tar.TypeReg, 0o4755, 0, 0, ""},
		"bin/zz-data":     {tar.TypeLink, 0o755, 0, 0, "bin/aa-link"},
		"dev/":            {tar.TypeDir, 0o755, 0, 0, ""},
		"dev/null":        {tar.TypeChar, 0o666, 0, 0, ""},
		"etc/":            {tar.TypeDir, 0o755, 0, 0, ""},
		"etc/abs":         {tar.TypeSymlink, 0o777, 0, 0, "/etc/passwd"},
		"home/":           {tar.TypeDir, 0o755, 0, 0, ""},
		"home/user/":      {tar.TypeDir, 0o755, 0, 0, ""},
		"home/user/notes": {tar.TypeReg, 0o600, 1000, 1001, ""},
		"run/":            {tar.TypeDir, 0o755, 0, 0, ""},
		"run/fifo":        {tar.TypeFifo, 0o644, 0, 0, ""},
		"tmp/":            {tar.TypeDir, 0o1777, 0, 0, ""},
		"usr/":            {tar.TypeDir, 0o755, 0, 0, ""},
		"usr/share/":      {tar.TypeDir, 0o755, 0, 0, ""},
		"usr/share/far":   {tar.TypeSymlink, 0o777, 0, 0, "/" + strings.Repeat("target/", 30)},
	}
	longDir := "usr/share/"
	for range 6 {
		longDir += "very-long-directory-name/"
		wants[longDir] = want{tar.TypeDir, 0o755, 0, 0, ""}
	}
	wants[longDir+"ünïcødé file"] = want{tar.TypeReg, 0o644, 100000000, 0, ""}
	var names []string
	for _, h := range hs {
		names = append(names, h.Name)
		w, ok := wants[h.Name]
		if !ok {
			t.Errorf("unexpected entry %q", h.Name)
			continue
		}
		if h.Typeflag != w.typ || h.Mode != w.mode || h.Uid != w.uid || h.Gid != w.gid || h.Linkname != w.link {
			t.Errorf("%q: got type %q mode %o ids %d:%d link %q, want %+v", h.Name, h.Typeflag, h.Mode, h.Uid, h.Gid, h.Linkname, w)
		}
		// ustar, or PAX only for the fields ustar cannot hold; never GNU,
		// whose atime field some readers take for a name prefix.
		if h.Uname != "" || h.Gname != "" || h.Format&(tar.FormatUSTAR|tar.FormatPAX) == 0 || h.Format&tar.FormatGNU != 0 {
			t.Errorf("%q: names %q/%q format %v", h.Name, h.Uname, h.Gname, h.Format)
		}
		for k := range h.PAXRecords {
			switch k {
			case "path", "linkpath", "uid", "gid", "size":
			default:
				t.Errorf("%q: PAX record %q, want only path, linkpath, uid, gid or size, where ustar cannot hold them", h.Name, k)
			}
		}
		if !h.ModTime.Equal(time.Unix(42, 0)) || !h.AccessTime.IsZero() || !h.ChangeTime.IsZero() {
			t.Errorf("%q: times %v %v %v, want mtime the epoch 42 and no atime or ctime", h.Name, h.ModTime, h.AccessTime, h.ChangeTime)
		}
		if h.Name == "dev/null" && (h.Devmajor != 1 || h.Devminor != 3) {
			t.Errorf("dev/null is %d,%d", h.Devmajor, h.Devminor)
		}
	}
	if len(names) != len(wants) {
		t.Errorf("got entries %q, want %d", names, len(wants))
	}
}

func TestDirectoryInput(t *testing.T) {
	tree := t.TempDir()
	os.MkdirAll(filepath.Join(tree, "bin"), 0o700)
	p := writeFile(t, tree, "bin/tool", []byte("elf"))
	os.Chmod(p, 0o755|os.ModeSetuid) // setuid survives; ownership becomes 0:0
	os.Link(p, filepath.Join(tree, "bin/a-tool"))
	os.Symlink("tool", filepath.Join(tree, "bin/t"))

	// A symlink to the directory is followed, not taken as an empty layer.
	alias := filepath.Join(t.TempDir(), "alias")
	if err := os.Symlink(tree, alias); err != nil {
		t.Fatal(err)
	}
	arch, res := build(t, []string{alias}, Options{})
	hs := layerHeaders(t, blobOf(t, readArchive(t, arch, 0), res.Layers[0]))
	var got []string
	for _, h := range hs {
		got = append(got, fmt.Sprintf("%s %c %o %d:%d %s", h.Name, h.Typeflag, h.Mode, h.Uid, h.Gid, h.Linkname))
	}
	want := []string{
		"bin/ 5 700 0:0 ",
		"bin/a-tool 0 4755 0:0 ",
		"bin/t 2 777 0:0 tool",
		"bin/tool 1 4755 0:0 bin/a-tool",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("entries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestDigestsMatchContent(t *testing.T) {
	in := writeFile(t, t.TempDir(), "in.tar", sampleTar(t))
	opts := Options{Ref: "busybox", Env: []string{"PATH=/bin", "A=b=c"}, Cmd: []string{"/bin/sh", "-c", "true"}, WorkDir: "/src", Mountpoints: true, Epoch: 7}
	arch, res := build(t, []string{in, in}, opts)
	files := readArchive(t, arch, 7)

	if got := string(files["oci-layout"]); got != `{"imageLayoutVersion":"1.0.0"}` {
		t.Errorf("oci-layout = %s", got)
	}
	var idx index
	if err := json.Unmarshal(files["index.json"], &idx); err != nil {
		t.Fatal(err)
	}
	if idx.SchemaVersion != 2 || idx.MediaType != mediaTypeIndex || len(idx.Manifests) != 1 {
		t.Fatalf("index.json = %s", files["index.json"])
	}
	md := idx.Manifests[0]
	if md.Digest != res.Manifest.Digest || md.Annotations[annotationRefName] != "busybox" ||
		md.Annotations[annotationImageName] != "docker.io/library/busybox:latest" || md.Platform == nil {
		t.Errorf("index manifest descriptor = %+v", md)
	}
	var m manifest
	if err := json.Unmarshal(blobOf(t, files, md), &m); err != nil {
		t.Fatal(err)
	}
	if m.SchemaVersion != 2 || m.MediaType != mediaTypeManifest || m.Config.MediaType != mediaTypeConfig || len(m.Layers) != 3 {
		t.Fatalf("manifest = %+v", m)
	}
	var cfg imageConfig
	if err := json.Unmarshal(blobOf(t, files, m.Config), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Created != "1970-01-01T00:00:07Z" || cfg.OS == "" || cfg.Architecture == "" || cfg.Config.WorkingDir != "/src" ||
		len(cfg.Config.Env) != 2 || len(cfg.Config.Cmd) != 3 || cfg.RootFS.Type != "layers" {
		t.Errorf("config = %+v", cfg)
	}
	if len(cfg.RootFS.DiffIDs) != len(m.Layers) {
		t.Fatalf("%d diff_ids for %d layers", len(cfg.RootFS.DiffIDs), len(m.Layers))
	}
	for i, l := range m.Layers {
		zr, err := gzip.NewReader(bytes.NewReader(blobOf(t, files, l)))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(zr)
		if got := fmt.Sprintf("sha256:%x", sha256.Sum256(raw)); got != cfg.RootFS.DiffIDs[i] || l.MediaType != mediaTypeLayerGz {
			t.Errorf("layer %d: diff_id %s, config says %s", i, got, cfg.RootFS.DiffIDs[i])
		}
	}
	// Two identical layers share one blob.
	if n := len(files) - 2 - 2; n != 4 { // minus dirs, index.json, oci-layout
		t.Errorf("%d blobs, want config + manifest + 2 distinct layers", n)
	}
	hs := layerHeaders(t, blobOf(t, files, m.Layers[2]))
	var mp []string
	for _, h := range hs {
		mp = append(mp, fmt.Sprintf("%s%o", h.Name, h.Mode))
	}
	if got := strings.Join(mp, " "); got != "dev/755 inputs/755 out/755 proc/555 run/755 src/755 sys/555 tmp/1777" {
		t.Errorf("mountpoints layer = %s", got)
	}
}

func TestBadInputs(t *testing.T) {
	tmp := t.TempDir()
	n := 0
	tarFile := func(ms ...member) string {
		n++
		return writeFile(t, tmp, fmt.Sprintf("bad-%d.tar", n), makeTar(t, ms...))
	}
	tests := []struct {
		name    string
		layers  []string
		opts    Options
		wantErr error
		wantMsg string
	}{
		{"absolute path", []string{tarFile(reg("/etc/passwd", 0o644, "x"))}, Options{}, errUnsafeEntry, "absolute name"},
		{"dotdot", []string{tarFile(reg("../evil", 0o644, "x"))}, Options{}, errUnsafeEntry, `".." component`},
		{"inner dotdot", []string{tarFile(reg("a/../../evil", 0o644, "x"))}, Options{}, errUnsafeEntry, `".." component`},
		{"hardlink escape", []string{tarFile(reg("a", 0o644, "x"), link(tar.TypeLink, "b", "../a"))}, Options{}, errUnsafeEntry, "hardlink"},
		{"hardlink to missing", []string{tarFile(link(tar.TypeLink, "b", "a"))}, Options{}, errUnsafeEntry, "not an earlier entry"},
		{"hardlink to dir", []string{tarFile(dir("d/", 0o755), link(tar.TypeLink, "b", "d"))}, Options{}, errUnsafeEntry, "directory"},
		{"below symlink", []string{tarFile(link(tar.TypeSymlink, "etc", "/etc"), reg("etc/passwd", 0o644, "x"))}, Options{}, errUnsafeEntry, "symlink"},
		{"below file", []string{tarFile(reg("f", 0o644, "x"), reg("f/g", 0o644, "x"))}, Options{}, errUnsafeEntry, "non-directory"},
		{"duplicate", []string{tarFile(reg("f", 0o644, "x"), reg("./f", 0o644, "y"))}, Options{}, errUnsafeEntry, "appears twice"},
		{"sparse", []string{writeFile(t, tmp, "sparse.tar", gnuSparseTar(t))}, Options{}, errInvalidLayer, "is a sparse file"},
		{"not a tar", []string{writeFile(t, tmp, "junk", bytes.Repeat([]byte("junk"), 200))}, Options{}, errInvalidLayer, "not a readable tar"},
		{"bad gzip", []string{writeFile(t, tmp, "junk.gz", []byte{0x1f, 0x8b, 1})}, Options{}, errInvalidLayer, "gzip"},
		{"missing layer", []string{filepath.Join(tmp, "nope")}, Options{}, errInvalidLayer, "existing directory or tar"},
		{"no layers", nil, Options{}, errInvalidOptions, "no layers"},
		{"bad env", []string{tmp}, Options{Env: []string{"NOEQUALS"}}, errInvalidOptions, "KEY=VALUE"},
		{"relative workdir", []string{tmp}, Options{WorkDir: "src"}, errInvalidOptions, "absolute"},
		{"negative epoch", []string{tmp}, Options{Epoch: -1}, errInvalidOptions, "1970"},
		{"ref with digest", []string{tmp}, Options{Ref: "x@sha256:00"}, errInvalidOptions, "digest"},
		{"uppercase ref", []string{tmp}, Options{Ref: "Team/Image:1"}, errInvalidOptions, "lowercase"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			opts.TempDir = t.TempDir()
			_, err := writeArchive(context.Background(), io.Discard, tt.layers, opts)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %q, want it to mention %q", err, tt.wantMsg)
			}
		})
	}
}

func TestFullName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"busybox", "docker.io/library/busybox:latest"},
		{"team/app:v1.2", "docker.io/team/app:v1.2"},
		{"slsabox.test/testbox:1", "slsabox.test/testbox:1"},
		{"localhost:5000/a/b", "localhost:5000/a/b:latest"},
		{"localhost/a:2", "localhost/a:2"},
		{"a__b/c-d", "docker.io/a__b/c-d:latest"},
		{"Upper", ""},
		{"a:", ""},
		{"a/", ""},
		{"a@sha256:0", ""},
		{"host:notaport/x", ""},
	}
	for _, tt := range tests {
		got, err := fullName(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("fullName(%q) = %q, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("fullName(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestWriteFileIsAtomic(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "img.tar")
	good := writeFile(t, t.TempDir(), "in.tar", sampleTar(t))
	res, err := WriteFile(context.Background(), out, []string{good}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(out)

	bad := writeFile(t, t.TempDir(), "bad.tar", makeTar(t, reg("/abs", 0o644, "")))
	if _, err := WriteFile(context.Background(), out, []string{bad}, Options{}); !errors.Is(err, errUnsafeEntry) {
		t.Fatalf("err = %v", err)
	}
	after, _ := os.ReadFile(out)
	if !bytes.Equal(before, after) {
		t.Error("a failed build changed the existing archive")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("leftover files in the output directory: %v", ents)
	}
	fi, _ := os.Stat(out)
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", fi.Mode())
	}
	if !strings.HasPrefix(res.Manifest.Digest, "sha256:") || len(res.Manifest.Digest) != 71 {
		t.Errorf("manifest digest %q", res.Manifest.Digest)
	}
}

// gnuSparseTar is a tar holding one old-GNU sparse member ('S'), which
// archive/tar can read but not write.
func gnuSparseTar(t testing.TB) []byte {
	b := makeTar(t, member{hdr: tar.Header{Typeflag: tar.TypeReg, Name: "sparse", Mode: 0o644, Format: tar.FormatGNU}})
	h := b[:512]
	h[156] = tar.TypeGNUSparse
	copy(h[483:495], "00000001000\x00") // real size 512: a file that is one big hole
	copy(h[148:156], "        ")
	sum := 0
	for _, c := range h {
		sum += int(c)
	}
	copy(h[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

func TestOutputInsideLayer(t *testing.T) {
	tree := t.TempDir()
	writeFile(t, tree, "f", []byte("x"))
	out := filepath.Join(tree, "sub", "img.tar")
	os.Mkdir(filepath.Dir(out), 0o755)
	_, err := WriteFile(context.Background(), out, []string{tree}, Options{})
	if !errors.Is(err, errInvalidOptions) || !strings.Contains(err.Error(), "inside the layer directory") {
		t.Fatalf("err = %v, want the output-inside-layer error", err)
	}
	if ents, _ := os.ReadDir(filepath.Dir(out)); len(ents) != 0 {
		t.Errorf("left files behind: %v", ents)
	}
}
