package ociarchive

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Result describes the written image.
type Result struct {
	// Manifest is the descriptor of the image manifest, as listed in index.json;
	// Manifest.Digest is what an oci-archive:PATH@sha256:... reference pins.
	Manifest Descriptor
	// Config and Layers are the descriptors listed in the manifest.
	Config Descriptor
	Layers []Descriptor
}

// writeArchive writes the OCI archive of an image made of layers (directories or
// tar files, in order) to w.
func writeArchive(ctx context.Context, w io.Writer, layers []string, opts Options) (*Result, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if len(layers) == 0 && !opts.Mountpoints {
		return nil, fmt.Errorf("%w: no layers; pass at least one directory or tar file", errInvalidOptions)
	}
	if opts.TempDir == "" {
		opts.TempDir = os.TempDir()
	}
	if err := notInLayer(opts.TempDir, layers); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(opts.TempDir, ".ociarchive-*")
	if err != nil {
		return nil, fmt.Errorf("creating a temporary directory (set TMPDIR to a writable directory): %w", err)
	}
	defer os.RemoveAll(tmp)

	sf, err := os.CreateTemp(tmp, "spool-*")
	if err != nil {
		return nil, err
	}
	defer sf.Close()
	sp := &spool{w: sf, r: sf}

	var blobs []blob
	var diffIDs []string
	add := func(name string, ents []*entry) error {
		b, diffID, err := writeLayer(ctx, tmp, ents, opts.Epoch)
		if err != nil {
			return fmt.Errorf("layer %s: %w", name, err)
		}
		blobs = append(blobs, b)
		diffIDs = append(diffIDs, diffID)
		return nil
	}
	for _, src := range layers {
		ents, err := loadLayer(ctx, src, sp)
		if err != nil {
			return nil, fmt.Errorf("layer %q: %w", src, err)
		}
		if err := add(fmt.Sprintf("%q", src), ents); err != nil {
			return nil, err
		}
	}
	if opts.Mountpoints {
		if err := add("mountpoints", mountpointEntries()); err != nil {
			return nil, err
		}
	}

	img, err := assemble(blobs, diffIDs, opts)
	if err != nil {
		return nil, err
	}
	if err := writeOuter(ctx, w, img.blobs, img.index, opts.Epoch); err != nil {
		return nil, err
	}
	return img.res, nil
}

// image is an assembled image: every blob (layers, config, manifest) and index.json.
type image struct {
	blobs []blob
	index []byte
	res   *Result
}

// assemble adds the config, the manifest and index.json to finished layers.
func assemble(layers []blob, diffIDs []string, opts Options) (*image, error) {
	res := &Result{}
	for _, b := range layers {
		res.Layers = append(res.Layers, b.desc)
	}
	if res.Layers == nil {
		res.Layers = []Descriptor{} // "layers": [] rather than null
	}
	if diffIDs == nil {
		diffIDs = []string{}
	}
	plat := opts.platform()
	cfg := imageConfig{
		Created:      unixTime(opts.Epoch).Format("2006-01-02T15:04:05Z"),
		Architecture: plat.Architecture,
		OS:           plat.OS,
		Variant:      plat.Variant,
		Config: runtimeConfig{User: opts.User, Env: opts.Env, Entrypoint: opts.Entrypoint, Cmd: opts.Cmd,
			WorkingDir: opts.WorkDir, Labels: opts.Labels},
		RootFS: rootFS{Type: "layers", DiffIDs: diffIDs},
	}
	cfgBlob, err := jsonBlob(mediaTypeConfig, cfg)
	if err != nil {
		return nil, err
	}
	res.Config = cfgBlob.desc
	man, err := jsonBlob(mediaTypeManifest, manifest{
		SchemaVersion: 2, MediaType: mediaTypeManifest, Config: res.Config, Layers: res.Layers,
	})
	if err != nil {
		return nil, err
	}
	res.Manifest = man.desc
	res.Manifest.Platform = &plat
	if opts.Ref != "" {
		full, _ := fullName(opts.Ref) // validated above
		res.Manifest.Annotations = map[string]string{annotationRefName: opts.Ref, annotationImageName: full}
	}
	idx, err := json.Marshal(index{SchemaVersion: 2, MediaType: mediaTypeIndex, Manifests: []Descriptor{res.Manifest}})
	if err != nil {
		return nil, err
	}
	return &image{blobs: append(layers, cfgBlob, man), index: idx, res: res}, nil
}

// notInLayer refuses a working directory inside a directory layer: the layer
// would pick up the half-written archive.
func notInLayer(dir string, layers []string) error {
	resolve := func(p string) string {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		a, _ := filepath.Abs(p)
		return a
	}
	d := resolve(dir)
	for _, l := range layers {
		if fi, err := os.Stat(l); err != nil || !fi.IsDir() {
			continue
		}
		if r := resolve(l); d == r || strings.HasPrefix(d, r+string(filepath.Separator)) {
			return fmt.Errorf("%w: the archive is written in %s, inside the layer directory %s; write it elsewhere (or set TMPDIR)", errInvalidOptions, dir, l)
		}
	}
	return nil
}

func jsonBlob(mediaType string, v any) (blob, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return blob{}, err
	}
	sum := sha256.Sum256(data)
	return blob{
		desc: Descriptor{MediaType: mediaType, Digest: fmt.Sprintf("sha256:%x", sum), Size: int64(len(data))},
		data: data,
	}, nil
}

// writeOuter writes the image layout as a tar, entries sorted by path.
func writeOuter(ctx context.Context, w io.Writer, blobs []blob, idx []byte, epoch int64) error {
	byName := make(map[string]blob)
	for _, b := range blobs {
		byName["blobs/sha256/"+strings.TrimPrefix(b.desc.Digest, "sha256:")] = b
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)

	ents := []*entry{
		{path: "blobs", typ: tar.TypeDir, mode: 0o755},
		{path: "blobs/sha256", typ: tar.TypeDir, mode: 0o755},
	}
	for _, n := range names {
		ents = append(ents, fileEntry(n, byName[n]))
	}
	ents = append(ents,
		fileEntry("index.json", blob{data: idx}),
		fileEntry("oci-layout", blob{data: []byte(`{"imageLayoutVersion":"1.0.0"}`)}),
	)
	return writeTar(ctx, w, ents, epoch)
}

func fileEntry(name string, b blob) *entry {
	e := &entry{path: name, typ: tar.TypeReg, mode: 0o644}
	if b.path != "" {
		p := b.path
		e.size = b.desc.Size
		e.open = func() (io.ReadCloser, error) { return os.Open(p) }
	} else {
		data := b.data
		e.size = int64(len(data))
		e.open = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(string(data))), nil }
	}
	return e
}

// WriteFile writes the archive to path atomically: a temporary file in the
// same directory is renamed over path only once complete.
func WriteFile(ctx context.Context, path string, layers []string, opts Options) (*Result, error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("creating the output next to %s (does the directory exist and is it writable?): %w", path, err)
	}
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if opts.TempDir == "" {
		opts.TempDir = dir // spool on the filesystem that must hold the archive anyway
	}
	res, err := writeArchive(ctx, f, layers, opts)
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(0o644); err != nil {
		return nil, err
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return nil, err
	}
	done = true
	return res, nil
}
