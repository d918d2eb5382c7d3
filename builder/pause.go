package builder

import (
	"encoding/binary"
	"fmt"
)

// pauseProgram returns a static ELF executable for goarch that waits for a signal
// and never exits on its own: the root process of a gVisor build's pod (gvisor.go).
// The pod must outlive every step, and the build's image may hold no program that
// waits (a distroless or scratch image has no sleep), so slsabox makes one: an ELF
// header, one program header and a loop of one system call (pause on amd64; arm64
// has no pause, so ppoll with no descriptors and no timeout), about 150 bytes that
// need no libc, no loader and no file of the image.
func pauseProgram(goarch string) ([]byte, error) {
	var machine uint16
	var code []byte
	switch goarch {
	case "amd64":
		machine = 62 // EM_X86_64
		code = []byte{
			0xb8, 0x22, 0x00, 0x00, 0x00, // mov eax, 34 (pause)
			0x0f, 0x05, // syscall
			0xeb, 0xf7, // jmp back to the mov (-9 bytes)
		}
	case "arm64":
		machine = 183 // EM_AARCH64
		for _, insn := range []uint32{
			0xd2800000, // mov x0, #0 (no descriptors)
			0xd2800001, // mov x1, #0
			0xd2800002, // mov x2, #0 (no timeout: wait for ever)
			0xd2800003, // mov x3, #0 (no signal mask)
			0xd2800928, // mov x8, #73 (ppoll)
			0xd4000001, // svc #0
			0x17fffffa, // b back to the first mov (-6 instructions)
		} {
			code = binary.LittleEndian.AppendUint32(code, insn)
		}
	default:
		return nil, fmt.Errorf("%w: runtime %s needs amd64 or arm64, the architectures gVisor runs on, not %s", ErrEnvironment, RuntimeGVisor, goarch)
	}
	return staticELF(machine, code), nil
}

// staticELF wraps machine code for machine (an ELF e_machine) into a minimal static
// 64-bit little-endian executable: the header, one loadable segment of the whole
// file, and the code, which starts the program.
func staticELF(machine uint16, code []byte) []byte {
	const (
		base     = 0x400000 // where the file is mapped
		ehSize   = 64       // ELF64 header
		phSize   = 56       // one ELF64 program header
		codeFrom = ehSize + phSize
	)
	size := uint64(codeFrom + len(code))
	le := binary.LittleEndian
	b := make([]byte, 0, size)
	b = append(b, 0x7f, 'E', 'L', 'F', 2 /* 64-bit */, 1 /* little-endian */, 1 /* version */, 0 /* System V ABI */)
	b = append(b, make([]byte, 8)...) // ABI version and padding
	b = le.AppendUint16(b, 2)         // e_type: ET_EXEC
	b = le.AppendUint16(b, machine)
	b = le.AppendUint32(b, 1)             // e_version
	b = le.AppendUint64(b, base+codeFrom) // e_entry
	b = le.AppendUint64(b, ehSize)        // e_phoff
	b = le.AppendUint64(b, 0)             // e_shoff: no sections
	b = le.AppendUint32(b, 0)             // e_flags
	b = le.AppendUint16(b, ehSize)        // e_ehsize
	b = le.AppendUint16(b, phSize)        // e_phentsize
	b = le.AppendUint16(b, 1)             // e_phnum
	b = le.AppendUint16(b, 64)            // e_shentsize
	b = le.AppendUint16(b, 0)             // e_shnum
	b = le.AppendUint16(b, 0)             // e_shstrndx
	b = le.AppendUint32(b, 1)             // p_type: PT_LOAD
	b = le.AppendUint32(b, 5)             // p_flags: read and execute
	b = le.AppendUint64(b, 0)             // p_offset: the whole file
	b = le.AppendUint64(b, base)          // p_vaddr
	b = le.AppendUint64(b, base)          // p_paddr
	b = le.AppendUint64(b, size)          // p_filesz
	b = le.AppendUint64(b, size)          // p_memsz
	b = le.AppendUint64(b, 0x1000)        // p_align
	return append(b, code...)
}
