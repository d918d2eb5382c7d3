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
// taken for Go binaries (the largest Go programs shipped are a few hundred MB).
const maxGoBinarySize = 512 << 20

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
	head := make([]byte, 64)
	n, _ := r.ReadAt(head, 0)
	if head = head[:n]; !executableMagic(head) || !saneHeader(head) {
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

// maxHeaderCount bounds the section, program header and load command counts of a
// file whose build info is read: debug/elf and debug/macho allocate per entry before
// they check much, so a crafted header of a few bytes (ELF extended numbering, a huge
// ncmds) would make root allocate gigabytes. Linkers write tens of each.
const maxHeaderCount = 4096

// saneHeader reports whether an ELF or Mach-O header (the first 64 bytes of the file)
// names counts a real linker writes; other formats pass (their counts are 16 bits).
func saneHeader(head []byte) bool {
	switch {
	case len(head) >= 64 && string(head[:4]) == "\x7fELF":
		var bo binary.ByteOrder = binary.LittleEndian
		if head[5] == 2 {
			bo = binary.BigEndian
		}
		var shoff uint64
		var phnum, shnum uint16
		if head[4] == 2 { // ELFCLASS64
			shoff, phnum, shnum = bo.Uint64(head[0x28:]), bo.Uint16(head[0x38:]), bo.Uint16(head[0x3c:])
		} else {
			shoff, phnum, shnum = uint64(bo.Uint32(head[0x20:])), bo.Uint16(head[0x2c:]), bo.Uint16(head[0x30:])
		}
		// shnum 0 with a section table means the real count is elsewhere (extended
		// numbering), as phnum 0xffff does: no Go linker writes either.
		return !(shnum == 0 && shoff != 0) && phnum != 0xffff && shnum <= maxHeaderCount && phnum <= maxHeaderCount
	case len(head) >= 28 && (string(head[:4]) == "\xfe\xed\xfa\xce" || string(head[:4]) == "\xfe\xed\xfa\xcf"):
		return binary.BigEndian.Uint32(head[16:]) <= maxHeaderCount
	case len(head) >= 28 && (string(head[:4]) == "\xce\xfa\xed\xfe" || string(head[:4]) == "\xcf\xfa\xed\xfe"):
		return binary.LittleEndian.Uint32(head[16:]) <= maxHeaderCount
	case string(head[:4]) == "\x7fELF" || string(head[1:4]) == "\xfa\xed\xfe" || string(head[:3]) == "\xfe\xed\xfa":
		return false // too short for its own header
	}
	return true
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
