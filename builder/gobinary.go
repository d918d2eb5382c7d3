package builder

import (
	"debug/buildinfo"
	"debug/plan9obj"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"syscall"
)

// GoModule is a Go module as a binary's build info or a vendor/modules.txt names it,
// after any replacement: Path and Version are what was linked (or vendored).
type GoModule struct {
	Path    string `json:"path"`
	Version string `json:"version,omitempty"` // "" for a local directory (Dir)
	// Sum is the go.sum hash (h1:...) the go command recorded; "" when it recorded none
	// (a vendored build, a local directory).
	Sum string `json:"sum,omitempty"`
	// Replaces is the module go.mod replaced with this one, PATH@VERSION (or PATH for a
	// wildcard replacement); "" when none was.
	Replaces string `json:"replaces,omitempty"`
	// Dir is the local directory a replacement points at: the module is then part of
	// the source, not an input.
	Dir string `json:"dir,omitempty"`
}

// String is PATH@VERSION, or PATH (DIR) for a local directory.
func (m GoModule) String() string {
	if m.Dir != "" {
		return m.Path + " (" + m.Dir + ")"
	}
	return m.Path + "@" + m.Version
}

// GoBinary is what a Go binary's build info (debug/buildinfo) says it was built from.
type GoBinary struct {
	GoVersion string     `json:"goVersion"` // e.g. go1.26.8
	Package   string     `json:"package"`   // the main package's import path
	Main      GoModule   `json:"main"`      // the main module: the source itself
	Deps      []GoModule `json:"deps,omitempty"`
}

// maxGoBinarySize bounds the files whose build info is read: larger files are not
// taken for Go binaries (a Go binary of a gigabyte is not a thing anyone ships).
const maxGoBinarySize = 1 << 30

// executableMagic reports whether head starts like an executable format
// debug/buildinfo reads (ELF, PE, Mach-O, XCOFF, Plan 9): everything else is skipped
// without parsing.
func executableMagic(head []byte) bool {
	if len(head) < 4 {
		return false
	}
	switch {
	case string(head[:4]) == "\x7fELF", string(head[:2]) == "MZ":
		return true
	case string(head[:4]) == "\xfe\xed\xfa\xce", string(head[:4]) == "\xfe\xed\xfa\xcf",
		string(head[:4]) == "\xce\xfa\xed\xfe", string(head[:4]) == "\xcf\xfa\xed\xfe":
		return true
	case string(head[:2]) == "\x01\xdf", string(head[:2]) == "\x01\xf7":
		return true
	}
	switch binary.BigEndian.Uint32(head) { // Plan 9 a.out, as debug/buildinfo knows it
	case plan9obj.Magic386, plan9obj.MagicAMD64, plan9obj.MagicARM:
		return true
	}
	return false
}

// readGoBinary returns the build info of the executable r holds (size bytes), or nil
// when it is no Go binary. Every file is treated as hostile: debug/buildinfo bounds
// what it allocates by the file's own size (internal/saferio) and is fuzzed upstream
// (FuzzRead); a panic would still be a bug in the standard library, and is taken as
// "not a Go binary" rather than crashing the build.
func readGoBinary(r io.ReaderAt, size int64) (bin *GoBinary) {
	if size < 4 || size > maxGoBinarySize {
		return nil
	}
	head := make([]byte, 4)
	if _, err := r.ReadAt(head, 0); err != nil || !executableMagic(head) {
		return nil
	}
	defer func() {
		if recover() != nil {
			bin = nil
		}
	}()
	info, err := buildinfo.Read(io.NewSectionReader(r, 0, size))
	if err != nil {
		return nil
	}
	return goBinary(info)
}

// readGoBinaryFile is readGoBinary of the regular file at path (nil for anything else).
func readGoBinaryFile(path string) (*GoBinary, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, nil
	}
	return readGoBinary(f, fi.Size()), nil
}

// goBinary converts build info, each dependency resolved to what was linked.
func goBinary(info *debug.BuildInfo) *GoBinary {
	b := &GoBinary{GoVersion: info.GoVersion, Package: info.Path, Main: linkedModule(&info.Main)}
	for _, d := range info.Deps {
		if d != nil {
			b.Deps = append(b.Deps, linkedModule(d))
		}
	}
	return b
}

// linkedModule is the module the go command linked for m: its replacement when
// there is one (a local directory when the replacement has no version).
func linkedModule(m *debug.Module) GoModule {
	if r := m.Replace; r != nil {
		orig := m.Path
		if m.Version != "" {
			orig += "@" + m.Version
		}
		// The go command records a directory replacement with version "(devel)"
		// (cmd/go/internal/load, setBuildInfo); older toolchains left it empty.
		if r.Version == "" || r.Version == "(devel)" {
			return GoModule{Path: m.Path, Version: m.Version, Replaces: orig, Dir: r.Path}
		}
		return GoModule{Path: r.Path, Version: r.Version, Sum: r.Sum, Replaces: orig}
	}
	return GoModule{Path: m.Path, Version: m.Version, Sum: m.Sum}
}

// readSubjectsGo fills in the Go build info of every file subject, read from the
// staged copy (what is published).
func readSubjectsGo(stage string, subjects []Subject) error {
	for i := range subjects {
		bin, err := readGoBinaryFile(stagePath(stage, subjects[i].Name))
		if err != nil {
			return fmt.Errorf("%w: reading the build info of %s: %w", ErrEnvironment, subjects[i].Name, err)
		}
		subjects[i].Go = bin
	}
	return nil
}

// stagePath is the file of a subject name (slash-separated) under dir.
func stagePath(dir, name string) string { return filepath.Join(dir, filepath.FromSlash(name)) }
