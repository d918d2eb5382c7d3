package builder

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/klauspost/compress/zstd"

	"github.com/slsabox/slsabox/internal/filehash"
	"github.com/slsabox/slsabox/internal/hint"
	"github.com/slsabox/slsabox/internal/ocilayout"
)

// ImageBinary is a Go binary inside an image subject.
type ImageBinary struct {
	Path   string    `json:"path"`   // absolute, in the image's file system
	SHA256 string    `json:"sha256"` // hex, of the file
	Go     *GoBinary `json:"go"`
}

// unpackFactor bounds what the layers of one image may unpack to, as a multiple of
// limits.output_size: a layer that decompresses without end is refused, not read.
const unpackFactor = 8

// assembledBinaries are the Go binaries among the /out files an assembled image
// holds (its base, an input of its own, is not searched).
func assembledBinaries(img OutputImage, outDir string) ([]ImageBinary, error) {
	var out []ImageBinary
	for _, f := range img.Files {
		src := stagePath(outDir, strings.TrimPrefix(f.Src, "/out/"))
		bin, err := readGoBinaryFile(src)
		if err != nil {
			return nil, fmt.Errorf("%w: reading the build info of %s: %w", ErrEnvironment, f.Src, err)
		}
		if bin == nil {
			continue
		}
		sum, err := filehash.SHA256(src)
		if err != nil {
			return nil, fmt.Errorf("%w: reading %s: %w", ErrEnvironment, f.Src, err)
		}
		out = append(out, ImageBinary{Path: f.Dst, SHA256: sum, Go: bin})
	}
	slices.SortFunc(out, func(a, b ImageBinary) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// layoutBinaries are the Go binaries among the regular files of the image l holds, as
// its layers leave them (a later layer's file or whiteout wins), for every platform
// of an index. scratch is a directory for one candidate file at a time; limit bounds
// the bytes all layers unpack to.
func layoutBinaries(l *ocilayout.Layout, scratch string, limit int64) ([]ImageBinary, error) {
	seenManifests := map[string]bool{}
	manifests, err := imageManifests(l, l.Image, 0, seenManifests)
	if err != nil {
		return nil, err
	}
	left := limit
	budget := &left
	var out []ImageBinary
	seen := map[string]bool{}
	for _, layers := range manifests {
		files := map[string]ImageBinary{}
		for _, d := range layers {
			if err := scanLayer(l, d, scratch, limit, budget, files); err != nil {
				return nil, err
			}
		}
		for _, b := range files {
			if k := b.Path + "@" + b.SHA256; !seen[k] {
				seen[k] = true
				out = append(out, b)
			}
		}
	}
	slices.SortFunc(out, func(a, b ImageBinary) int {
		return strings.Compare(a.Path+"@"+a.SHA256, b.Path+"@"+b.SHA256)
	})
	return out, nil
}

// maxImageManifests bounds the manifests and indexes of one image that are read.
const maxImageManifests = 1024

// imageManifests returns the layers of every manifest d reaches, each manifest (and
// index) once however often indexes list it: seen holds the digests read.
func imageManifests(l *ocilayout.Layout, d ocilayout.Descriptor, depth int, seen map[string]bool) ([][]ocilayout.Descriptor, error) {
	if depth > 4 {
		return nil, fmt.Errorf("%w: indexes nest too deep", ErrImageRejected)
	}
	if seen[d.Digest] {
		return nil, nil
	}
	if seen[d.Digest] = true; len(seen) > maxImageManifests {
		return nil, fmt.Errorf("%w: the image has more than %d manifests and indexes", ErrImageRejected, maxImageManifests)
	}
	data, err := l.ReadBlob(d, 4<<20)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrImageRejected, err)
	}
	var doc struct {
		Manifests []ocilayout.Descriptor `json:"manifests"`
		Layers    []ocilayout.Descriptor `json:"layers"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%w: %s does not parse: %w", ErrImageRejected, d.Digest, err)
	}
	if len(doc.Manifests) == 0 {
		return [][]ocilayout.Descriptor{doc.Layers}, nil
	}
	var out [][]ocilayout.Descriptor
	for _, m := range doc.Manifests {
		ls, err := imageManifests(l, m, depth+1, seen)
		if err != nil {
			return nil, err
		}
		out = append(out, ls...)
	}
	return out, nil
}

// scanLayer applies one layer to files (path -> Go binary): its whiteouts remove what
// the layers below it hold, its entries replace what is at their path, and a regular
// file (or a hard link to one) that is a Go binary is added.
func scanLayer(l *ocilayout.Layout, d ocilayout.Descriptor, scratch string, limit int64, budget *int64, files map[string]ImageBinary) error {
	blob, err := l.OpenBlob(d)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrImageRejected, err)
	}
	defer blob.Close()
	var r io.Reader = bufio.NewReader(blob)
	mt := d.MediaType
	switch {
	case strings.HasSuffix(mt, "+gzip"), strings.HasSuffix(mt, ".gzip"):
		zr, err := gzip.NewReader(r)
		if err != nil {
			return fmt.Errorf("%w: layer %s: %w", ErrImageRejected, d.Digest, err)
		}
		defer zr.Close()
		r = zr
	case strings.HasSuffix(mt, "+zstd"):
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(256<<20))
		if err != nil {
			return fmt.Errorf("%w: layer %s: %w", ErrImageRejected, d.Digest, err)
		}
		defer zr.Close()
		r = zr
	case strings.HasSuffix(mt, ".tar"), strings.HasSuffix(mt, "tar"):
	default:
		return nil // a config or an artifact blob: no file system
	}
	over := func() error {
		return hint.Wrapf(fmt.Errorf("%w: the layers of the image unpack to more than %s, %d times limits.output_size", ErrImageRejected, formatSize(limit), unpackFactor),
			"raise limits.output_size, or write smaller layers")
	}
	tr := tar.NewReader(&budgetReader{r: r, left: budget})
	// A whiteout hides the layers below, never an entry of its own layer: what this
	// layer adds is kept apart until its end.
	upper := map[string]*ImageBinary{} // nil: an entry that is no Go binary
	defer func() {
		for p, b := range upper {
			if b == nil {
				delete(files, p)
			} else {
				files[p] = *b
			}
		}
	}()
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if errors.Is(err, errBudget) {
			return over()
		}
		if err != nil {
			return fmt.Errorf("%w: layer %s: %w", ErrImageRejected, d.Digest, err)
		}
		p := path.Clean("/" + h.Name)
		dir, base := path.Split(p)
		if base == ".wh..wh..opq" {
			for k := range files {
				if strings.HasPrefix(k, dir) {
					delete(files, k)
				}
			}
			continue
		}
		if gone, ok := strings.CutPrefix(base, ".wh."); ok {
			gone = path.Join(dir, gone)
			for k := range files {
				if k == gone || strings.HasPrefix(k, gone+"/") {
					delete(files, k)
				}
			}
			continue
		}
		upper[p] = nil
		if h.Typeflag == tar.TypeLink {
			// A hard link names a file of this layer, or else of the layers below.
			target := path.Clean("/" + h.Linkname)
			b, here := upper[target]
			if lower, ok := files[target]; !here && ok {
				b = &lower
			}
			if b != nil {
				upper[p] = &ImageBinary{Path: p, SHA256: b.SHA256, Go: b.Go}
			}
			continue
		}
		if h.Typeflag != tar.TypeReg || h.Size < 4 || h.Size > maxGoBinarySize {
			continue
		}
		bin, sum, err := spoolGoBinary(tr, h.Size, scratch)
		if errors.Is(err, errBudget) {
			return over()
		}
		if err != nil {
			return err
		}
		if bin != nil {
			upper[p] = &ImageBinary{Path: p, SHA256: sum, Go: bin}
		}
	}
	// The rest of the blob, so that its digest is checked to the end.
	if _, err := io.Copy(io.Discard, blob); err != nil {
		return fmt.Errorf("%w: %w", ErrImageRejected, err)
	}
	return nil
}

// spoolGoBinary reads a file of a layer: when it starts like an executable, into a
// file in scratch, where its build info is read. It returns nil for any other file.
func spoolGoBinary(r io.Reader, size int64, scratch string) (*GoBinary, string, error) {
	head := make([]byte, 4)
	if _, err := io.ReadFull(r, head); err != nil {
		return nil, "", fmt.Errorf("%w: reading a layer: %w", ErrImageRejected, err)
	}
	if !executableMagic(head) {
		return nil, "", nil
	}
	f, err := os.CreateTemp(scratch, "bin-*")
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrEnvironment, err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	h := sha256.New()
	w := io.MultiWriter(f, h)
	w.Write(head) //nolint:errcheck // a write error shows in the copy below
	if _, err := io.Copy(w, r); err != nil {
		if errors.Is(err, errBudget) {
			return nil, "", err
		}
		return nil, "", fmt.Errorf("%w: spooling a layer file: %w", ErrEnvironment, err)
	}
	return readGoBinary(f, size), hex.EncodeToString(h.Sum(nil)), nil
}

var errBudget = errors.New("unpack budget exhausted")

// budgetReader fails with errBudget once more than *left bytes went through it.
type budgetReader struct {
	r    io.Reader
	left *int64
}

func (b *budgetReader) Read(p []byte) (int, error) {
	if *b.left <= 0 {
		return 0, errBudget
	}
	if int64(len(p)) > *b.left {
		p = p[:*b.left]
	}
	n, err := b.r.Read(p)
	*b.left -= int64(n)
	return n, err
}
