package ocilayout

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
)

// ErrInvalidLayout: the directory is not a complete, consistent OCI image layout.
var ErrInvalidLayout = errors.New("invalid OCI image layout")

// ErrTooLarge also marks a layout refused for its size or its number of blobs only.
var ErrTooLarge = errors.New("over the size limit")

// Media types Open follows.
const (
	MediaTypeOCIIndex       = "application/vnd.oci.image.index.v1+json"
	MediaTypeOCIManifest    = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
	MediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"

	// AnnotationRefName names the image in index.json.
	AnnotationRefName = "org.opencontainers.image.ref.name"
)

// Limits bound what Open reads. Zero fields take the defaults.
type Limits struct {
	TotalSize int64 // all blobs together (default 4 GiB)
	JSONSize  int64 // one manifest or index (default 4 MiB)
	Blobs     int   // distinct blobs (default 10000)
}

const maxDepth = 4 // index -> index -> manifest, with room to spare

// Descriptor points at a blob.
type Descriptor struct {
	MediaType    string    `json:"mediaType"`
	Digest       string    `json:"digest"`
	Size         int64     `json:"size"`
	Platform     *Platform `json:"platform,omitempty"`
	ArtifactType string    `json:"artifactType,omitempty"`
}

// Platform is a descriptor's platform, kept as found.
type Platform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
	Variant      string `json:"variant,omitempty"`
}

// Layout is a checked image layout.
type Layout struct {
	root  *os.Root
	Image Descriptor   // what index.json names: the image's manifest or index
	Blobs []Descriptor // every blob the image references, itself included, sorted by digest
	// Index lists every entry of index.json, Image among them, unchecked: OpenImage
	// leaves other images and referrers there (read them with ReadBlob).
	Index []Descriptor
}

// digestRE compiles on first use: slsabox links this package into every command.
var digestRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^sha256:[0-9a-f]{64}$`) })

type document struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Manifests     []Descriptor `json:"manifests"`
	Config        *Descriptor  `json:"config"`
	Layers        []Descriptor `json:"layers"`
	Subject       *Descriptor  `json:"subject"`
}

// Open checks the layout in dir, whose index.json must name exactly one image. The
// caller closes the Layout.
func Open(dir string, lim Limits) (*Layout, error) { return open(dir, "", lim) }

// OpenImage checks the image with the manifest (or index) digest "sha256:HEX" in the
// layout in dir, as Open checks its one image; index.json must list it and may list
// more (other images, referrers such as cosign save writes), which stay unchecked in
// Layout.Index. The caller closes the Layout.
func OpenImage(dir, digest string, lim Limits) (*Layout, error) {
	if !digestRE().MatchString(digest) {
		return nil, fmt.Errorf("%w: digest %.80q is not sha256:<64 lowercase hex>", ErrInvalidLayout, digest)
	}
	return open(dir, digest, lim)
}

func open(dir, want string, lim Limits) (*Layout, error) {
	if lim.TotalSize <= 0 {
		lim.TotalSize = 4 << 30
	}
	if lim.JSONSize <= 0 {
		lim.JSONSize = 4 << 20
	}
	if lim.Blobs <= 0 {
		lim.Blobs = 10000
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidLayout, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%w: %s is not a directory (%v)", ErrInvalidLayout, dir, fi.Mode().Type())
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidLayout, err)
	}
	l := &Layout{root: root}
	if err := l.check(lim, want); err != nil {
		root.Close()
		return nil, err
	}
	return l, nil
}

// Close releases the directory.
func (l *Layout) Close() error { return l.root.Close() }

func (l *Layout) check(lim Limits, want string) error {
	for _, d := range []string{"blobs", "blobs/sha256"} {
		fi, err := l.root.Lstat(d)
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrInvalidLayout, d, err)
		}
		if !fi.IsDir() {
			return fmt.Errorf("%w: %s is not a directory (%v)", ErrInvalidLayout, d, fi.Mode().Type())
		}
	}
	data, err := l.readFile("oci-layout", 4<<10)
	if err != nil {
		return err
	}
	var ol struct {
		Version string `json:"imageLayoutVersion"`
	}
	if err := json.Unmarshal(data, &ol); err != nil || ol.Version != "1.0.0" {
		return fmt.Errorf(`%w: oci-layout must be {"imageLayoutVersion":"1.0.0"}`, ErrInvalidLayout)
	}
	data, err = l.readFile("index.json", lim.JSONSize)
	if err != nil {
		return err
	}
	var idx document
	if err := json.Unmarshal(data, &idx); err != nil {
		return fmt.Errorf("%w: index.json does not parse: %w", ErrInvalidLayout, err)
	}
	if idx.SchemaVersion != 2 || (idx.MediaType != "" && idx.MediaType != MediaTypeOCIIndex) {
		return fmt.Errorf("%w: index.json is not an OCI image index (schemaVersion 2)", ErrInvalidLayout)
	}
	l.Index = idx.Manifests
	var top Descriptor
	switch {
	case want == "" && len(idx.Manifests) != 1:
		return fmt.Errorf("%w: index.json names %d images; it must name exactly one (a manifest, or an index for several platforms)", ErrInvalidLayout, len(idx.Manifests))
	case want == "":
		top = idx.Manifests[0]
	default:
		i := slices.IndexFunc(idx.Manifests, func(d Descriptor) bool { return d.Digest == want })
		if i < 0 {
			return fmt.Errorf("%w: index.json does not list %s: give the digest of an image the layout holds", ErrInvalidLayout, want)
		}
		top = idx.Manifests[i]
	}
	if !isManifest(top.MediaType) && !isIndex(top.MediaType) {
		return fmt.Errorf("%w: index.json names a %q, not an OCI or Docker v2 manifest or index", ErrInvalidLayout, top.MediaType)
	}
	w := &walker{l: l, lim: lim, seen: map[string]Descriptor{}}
	if err := w.visit(top, 0); err != nil {
		return err
	}
	l.Image = Descriptor{MediaType: top.MediaType, Digest: top.Digest, Size: top.Size, Platform: top.Platform}
	for _, d := range w.seen {
		l.Blobs = append(l.Blobs, d)
	}
	sort.Slice(l.Blobs, func(i, j int) bool { return l.Blobs[i].Digest < l.Blobs[j].Digest })
	return nil
}

func isManifest(mt string) bool { return mt == MediaTypeOCIManifest || mt == MediaTypeDockerManifest }
func isIndex(mt string) bool    { return mt == MediaTypeOCIIndex || mt == MediaTypeDockerList }

type walker struct {
	l     *Layout
	lim   Limits
	seen  map[string]Descriptor
	total int64
}

// visit checks the blob d names and, for a manifest or an index, what it references.
func (w *walker) visit(d Descriptor, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: indexes nest deeper than %d levels", ErrInvalidLayout, maxDepth)
	}
	if !digestRE().MatchString(d.Digest) {
		return fmt.Errorf("%w: digest %.80q is not sha256:<64 lowercase hex>", ErrInvalidLayout, d.Digest)
	}
	if d.Size < 0 || d.Size > w.lim.TotalSize {
		return fmt.Errorf("%w: blob %s declares %d bytes, beyond the limit of %d (%w)", ErrInvalidLayout, d.Digest, d.Size, w.lim.TotalSize, ErrTooLarge)
	}
	if old, ok := w.seen[d.Digest]; ok {
		if old.Size != d.Size {
			return fmt.Errorf("%w: blob %s is declared with two sizes (%d and %d)", ErrInvalidLayout, d.Digest, old.Size, d.Size)
		}
		return nil // already checked, with what it references
	}
	if len(w.seen) >= w.lim.Blobs {
		return fmt.Errorf("%w: more than %d blobs (%w)", ErrInvalidLayout, w.lim.Blobs, ErrTooLarge)
	}
	if w.total += d.Size; w.total > w.lim.TotalSize {
		return fmt.Errorf("%w: the image's blobs add up to more than %d bytes (%w)", ErrInvalidLayout, w.lim.TotalSize, ErrTooLarge)
	}
	w.seen[d.Digest] = Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size}
	name := blobPath(d.Digest)
	if !isManifest(d.MediaType) && !isIndex(d.MediaType) {
		return w.l.hashBlob(name, d, io.Discard)
	}
	if d.Size > w.lim.JSONSize {
		return fmt.Errorf("%w: %s %s declares %d bytes, more than a manifest may have (%d)", ErrInvalidLayout, d.MediaType, d.Digest, d.Size, w.lim.JSONSize)
	}
	var buf strings.Builder
	if err := w.l.hashBlob(name, d, &buf); err != nil {
		return err
	}
	var doc document
	if err := json.Unmarshal([]byte(buf.String()), &doc); err != nil {
		return fmt.Errorf("%w: %s %s does not parse: %w", ErrInvalidLayout, d.MediaType, d.Digest, err)
	}
	if doc.SchemaVersion != 2 || (doc.MediaType != "" && doc.MediaType != d.MediaType) ||
		(doc.MediaType == "" && (d.MediaType == MediaTypeDockerManifest || d.MediaType == MediaTypeDockerList)) {
		return fmt.Errorf("%w: %s is not the %s its descriptor says (schemaVersion %d, mediaType %.80q)", ErrInvalidLayout, d.Digest, d.MediaType, doc.SchemaVersion, doc.MediaType)
	}
	// An image has no subject: a manifest with one is an artifact attached to another
	// image (a referrer), which pushed would list among that image's referrers.
	if doc.Subject != nil {
		return fmt.Errorf("%w: %s has a subject (%.80s): it is attached to another image, not an image itself", ErrInvalidLayout, d.Digest, doc.Subject.Digest)
	}
	if isIndex(d.MediaType) {
		if doc.Config != nil || doc.Layers != nil {
			return fmt.Errorf("%w: index %s has a config or layers", ErrInvalidLayout, d.Digest)
		}
		for _, m := range doc.Manifests {
			if !isManifest(m.MediaType) && !isIndex(m.MediaType) {
				return fmt.Errorf("%w: index %s lists a %.80q, not an OCI or Docker v2 manifest or index", ErrInvalidLayout, d.Digest, m.MediaType)
			}
			if err := w.visit(m, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if doc.Config == nil || doc.Manifests != nil {
		return fmt.Errorf("%w: manifest %s has no config, or lists manifests", ErrInvalidLayout, d.Digest)
	}
	for _, b := range append([]Descriptor{*doc.Config}, doc.Layers...) {
		if isManifest(b.MediaType) || isIndex(b.MediaType) || b.MediaType == "" {
			return fmt.Errorf("%w: manifest %s lists a blob of media type %.80q as config or layer", ErrInvalidLayout, d.Digest, b.MediaType)
		}
		if err := w.visit(b, depth+1); err != nil {
			return err
		}
	}
	return nil
}

func blobPath(digest string) string { return "blobs/sha256/" + strings.TrimPrefix(digest, "sha256:") }

// hashBlob checks that name is a regular file of d.Size bytes whose sha256 is
// d.Digest, copying it to w on the way.
func (l *Layout) hashBlob(name string, d Descriptor, w io.Writer) error {
	f, err := l.openRegular(name)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(h, w), io.LimitReader(f, d.Size+1))
	if err != nil {
		return fmt.Errorf("%w: reading %s: %w", ErrInvalidLayout, name, err)
	}
	if n != d.Size {
		return fmt.Errorf("%w: blob %s has %s bytes, its descriptor says %d", ErrInvalidLayout, d.Digest, sizeWord(n, d.Size), d.Size)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != d.Digest {
		return fmt.Errorf("%w: blob %s does not match its digest (its content hashes to %s)", ErrInvalidLayout, d.Digest, got)
	}
	return nil
}

func sizeWord(n, want int64) string {
	if n > want {
		return fmt.Sprintf("more than %d", want)
	}
	return fmt.Sprint(n)
}

// openRegular opens name inside the layout, refusing a symlink (as the name or on
// the way to it, through os.Root) and anything but a regular file.
func (l *Layout) openRegular(name string) (*os.File, error) {
	fi, err := l.root.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s is missing", ErrInvalidLayout, name)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidLayout, name, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file (%v)", ErrInvalidLayout, name, fi.Mode().Type())
	}
	f, err := l.root.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidLayout, name, err)
	}
	if fi2, err := f.Stat(); err != nil || !os.SameFile(fi, fi2) {
		f.Close()
		return nil, fmt.Errorf("%w: %s changed while it was read", ErrInvalidLayout, name)
	}
	return f, nil
}

// ReadBlob returns the blob d names, after checking that it is a regular file of
// d.Size bytes, at most limit, with d's sha256 digest.
func (l *Layout) ReadBlob(d Descriptor, limit int64) ([]byte, error) {
	if !digestRE().MatchString(d.Digest) {
		return nil, fmt.Errorf("%w: digest %.80q is not sha256:<64 lowercase hex>", ErrInvalidLayout, d.Digest)
	}
	if d.Size < 0 || d.Size > limit {
		return nil, fmt.Errorf("%w: blob %s declares %d bytes, beyond the limit of %d", ErrInvalidLayout, d.Digest, d.Size, limit)
	}
	var buf bytes.Buffer
	if err := l.hashBlob(blobPath(d.Digest), d, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (l *Layout) readFile(name string, limit int64) ([]byte, error) {
	f, err := l.openRegular(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading %s: %w", ErrInvalidLayout, name, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrInvalidLayout, name, limit)
	}
	return data, nil
}

// OpenBlob opens the blob d names for reading, after checking that it is a regular
// file inside the layout. The reader yields at most d.Size bytes and fails at its end
// when they do not have d's size and sha256 digest: read it to io.EOF before trusting
// what it gave.
func (l *Layout) OpenBlob(d Descriptor) (io.ReadCloser, error) {
	if !digestRE().MatchString(d.Digest) || d.Size < 0 {
		return nil, fmt.Errorf("%w: digest %.80q is not sha256:<64 lowercase hex>", ErrInvalidLayout, d.Digest)
	}
	f, err := l.openRegular(blobPath(d.Digest))
	if err != nil {
		return nil, err
	}
	return &checkedBlob{f: f, r: io.LimitReader(f, d.Size), h: sha256.New(), d: d}, nil
}

type checkedBlob struct {
	f *os.File
	r io.Reader
	h hash.Hash
	n int64
	d Descriptor
}

func (c *checkedBlob) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	if err == io.EOF {
		if c.n != c.d.Size {
			return n, fmt.Errorf("%w: blob %s has %d bytes, its descriptor says %d", ErrInvalidLayout, c.d.Digest, c.n, c.d.Size)
		}
		if got := "sha256:" + hex.EncodeToString(c.h.Sum(nil)); got != c.d.Digest {
			return n, fmt.Errorf("%w: blob %s does not match its digest (its content hashes to %s)", ErrInvalidLayout, c.d.Digest, got)
		}
	}
	return n, err
}

func (c *checkedBlob) Close() error { return c.f.Close() }
