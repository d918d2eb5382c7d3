package builder

import (
	"bytes"
	"encoding/binary"
	"errors"
	"runtime"
	"testing"
)

// An output of N bytes that starts like an ELF file with extended section numbering
// (e_shnum 0, the count in section 0's sh_size) makes debug/buildinfo allocate a
// Section per 64-byte header: several times N, in the control plane (root).
// saneHeader refuses the header, so reading it allocates little.
func TestReadGoBinaryMemory(t *testing.T) {
	const n = 1 << 18 // section headers: a 16 MiB file
	const shoff = 64
	buf := make([]byte, shoff+n*64)
	copy(buf, "\x7fELF")
	buf[4], buf[5], buf[6] = 2, 1, 1 // ELFCLASS64, little endian, version 1
	le := binary.LittleEndian
	le.PutUint16(buf[16:], 2)  // ET_EXEC
	le.PutUint16(buf[18:], 62) // x86-64
	le.PutUint32(buf[20:], 1)
	le.PutUint64(buf[40:], shoff)
	le.PutUint16(buf[52:], 64)      // e_ehsize
	le.PutUint16(buf[58:], 64)      // e_shentsize
	le.PutUint64(buf[shoff+32:], n) // section 0's sh_size: the section count
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	bin := readGoBinary(bytes.NewReader(buf), int64(len(buf)))
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("file %d MiB: allocated %d MiB (Go binary: %v)", len(buf)>>20, alloc>>20, bin != nil)
	if alloc > 2*uint64(len(buf)) {
		t.Error("reading the build info of a hostile output allocates more than twice its size")
	}
}

// The module holding a binary's main package is its Main, not among its Deps
// (cmd/go/internal/load setBuildInfo): for go build THIRD/PARTY/cmd/tool it is that
// third-party module, from the module cache (with its go.sum hash), and must be
// pinned by an input like any dependency.
func TestCheckGoModulesMainModule(t *testing.T) {
	res := &Result{Subjects: []Subject{{Name: "tool", Go: &GoBinary{
		Package: "example.org/third/cmd/tool",
		Main:    GoModule{Path: "example.org/third", Version: "v1.2.3", Sum: "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="},
	}}}}
	if err := checkGoModules(res); !errors.Is(err, ErrUndeclaredModule) {
		t.Errorf("a binary whose main module example.org/third@v1.2.3 (from the module cache) no input pins: err = %v", err)
	}
}
