package ociarchive

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/slsabox/slsabox/internal/testenv"
)

// pyMember is one tar member as both readers report it.
type pyMember struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Size     int64  `json:"size"`
	Mode     int64  `json:"mode"`
	UID      int    `json:"uid"`
	GID      int    `json:"gid"`
	Mtime    int64  `json:"mtime"`
	Linkname string `json:"linkname"`
	Devmajor int64  `json:"devmajor"`
	Devminor int64  `json:"devminor"`
}

// pyListing is the outer tar and every gzip layer blob in it, by member name.
type pyListing struct {
	Outer  []pyMember            `json:"outer"`
	Layers map[string][]pyMember `json:"layers"`
}

// pyReader lists an OCI archive with Python's tarfile, the reader that took
// GNU headers' atime field for a ustar name prefix ("00000000000/index.json").
const pyReader = `
import gzip, io, json, sys, tarfile

def members(tf):
    out = []
    for m in tf.getmembers():
        out.append(dict(name=m.name, type=m.type.decode(), size=m.size, mode=m.mode,
                        uid=m.uid, gid=m.gid, mtime=int(m.mtime), linkname=m.linkname,
                        devmajor=m.devmajor, devminor=m.devminor))
    return out

res = {"outer": [], "layers": {}}
with tarfile.open(sys.argv[1], "r:", encoding="utf-8") as outer:
    res["outer"] = members(outer)
    for m in outer.getmembers():
        if not m.isfile():
            continue
        data = outer.extractfile(m).read()
        if data[:2] != b"\x1f\x8b":
            continue
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data)), mode="r:", encoding="utf-8") as layer:
            res["layers"][m.name] = members(layer)
json.dump(res, sys.stdout)
`

// goListing lists the archive like pyReader, with archive/tar. Python drops a
// directory's trailing slash, so this does too.
func goListing(t *testing.T, arch []byte) pyListing {
	t.Helper()
	list := func(r io.Reader, onFile func(name string, data []byte)) []pyMember {
		var ms []pyMember
		tr := tar.NewReader(r)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				return ms
			}
			if err != nil {
				t.Fatal(err)
			}
			name := strings.TrimSuffix(h.Name, "/")
			ms = append(ms, pyMember{
				Name: name, Type: string(rune(h.Typeflag)), Size: h.Size, Mode: h.Mode,
				UID: h.Uid, GID: h.Gid, Mtime: h.ModTime.Unix(), Linkname: h.Linkname,
				Devmajor: h.Devmajor, Devminor: h.Devminor,
			})
			if onFile != nil && h.Typeflag == tar.TypeReg {
				data, err := io.ReadAll(tr)
				if err != nil {
					t.Fatal(err)
				}
				onFile(name, data)
			}
		}
	}
	res := pyListing{Layers: make(map[string][]pyMember)}
	res.Outer = list(bytes.NewReader(arch), func(name string, data []byte) {
		if !bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
			return
		}
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		res.Layers[name] = list(zr, nil)
	})
	return res
}

// TestPythonReadsArchive reads a written archive with Python's tarfile, a
// second implementation independent of Go's archive/tar: both must see the
// same members, with the same names, types, sizes, modes, ids and times, in
// the outer tar and in every layer.
func TestPythonReadsArchive(t *testing.T) {
	py := testenv.Python3(t)
	tmp := t.TempDir()
	in := writeFile(t, tmp, "in.tar", sampleTar(t))
	tree := filepath.Join(tmp, "tree")
	os.MkdirAll(filepath.Join(tree, "b/c"), 0o755)
	writeFile(t, tree, "b/c/file", []byte("x"))
	os.Symlink("c/file", filepath.Join(tree, "b/sym"))
	arch, res := build(t, []string{in, tree}, Options{Ref: "slsabox.test/py:1", Mountpoints: true, Epoch: 1700000000})
	archPath := writeFile(t, tmp, "image.tar", arch)

	cmd := exec.Command(py, "-c", pyReader, archPath)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3 tarfile: %v\n%s", err, stderr.Bytes())
	}
	var got pyListing
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("python3 output: %v\n%s", err, out)
	}
	want := goListing(t, arch)

	// The Go listing is itself checked: the outer tar holds exactly the
	// layout, and every layer of the manifest is a gzip tar in it.
	var names []string
	for _, m := range want.Outer {
		names = append(names, m.Name)
	}
	if len(names) != 2+len(res.Layers)+2+2 || names[0] != "blobs" || names[len(names)-1] != "oci-layout" {
		t.Fatalf("go reads the outer tar as %q", names)
	}
	if len(want.Layers) != len(res.Layers) {
		t.Fatalf("go reads %d layers, the manifest lists %d", len(want.Layers), len(res.Layers))
	}

	compare := func(what string, got, want []pyMember) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s: python reads %d members, go %d", what, len(got), len(want))
		}
		for i := range min(len(got), len(want)) {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Errorf("%s member %d:\npython reads %+v\ngo reads     %+v", what, i, got[i], want[i])
			}
		}
	}
	compare("outer tar", got.Outer, want.Outer)
	for _, l := range res.Layers {
		name := "blobs/sha256/" + strings.TrimPrefix(l.Digest, "sha256:")
		if _, ok := got.Layers[name]; !ok {
			t.Errorf("python finds no gzip layer %s", name)
			continue
		}
		compare("layer "+l.Digest, got.Layers[name], want.Layers[name])
	}
}
