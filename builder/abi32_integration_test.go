//go:build integration

package builder

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestSandbox32BitSyscalls checks what the sandbox guarantees about the 32-bit
// system call entry (int 0x80): a step never reaches a system call through it. The
// seccomp filter admits only the native ABI, so where the kernel takes the call as far
// as seccomp, the step dies of SIGSYS (exit 159). Some kernels here fault on int 0x80
// before seccomp sees it (SIGSEGV, 139), even outside any sandbox; the test finds out
// on the host which case applies, says so, and accepts either death there. It never
// accepts an exit, 0 or otherwise.
func TestSandbox32BitSyscalls(t *testing.T) {
	h := newHarness(t)
	elf := int80ELF()

	hostProgram := filepath.Join(t.TempDir(), "int80")
	if err := os.WriteFile(hostProgram, elf, 0o755); err != nil {
		t.Fatal(err)
	}
	hostErr := exec.Command(hostProgram).Run()
	want := []string{"exit status 159"} // SIGSYS from the seccomp filter
	switch {
	case hostErr == nil:
		t.Logf("on the host, outside the sandbox, the 32-bit entry works (the program exits 0): the sandbox must stop it with SIGSYS")
	case signalOf(hostErr) == syscall.SIGSEGV:
		t.Logf("on the host, outside the sandbox, the 32-bit entry faults (SIGSEGV) before seccomp: the sandbox may stop it either way")
		want = append(want, "exit status 139")
	default:
		t.Fatalf("the probe program fails on the host with %v: it is broken, not the sandbox", hostErr)
	}

	dir := h.project(fmt.Sprintf(`  - name: abi32
    run: [sh, -c, "printf '%s' > /tmp/int80 && chmod +x /tmp/int80 && echo running && exec /tmp/int80"]`, yamlOctal(elf)), "")
	_, out, err := h.build(context.Background(), dir)
	if !errors.Is(err, ErrStepFailed) {
		t.Fatalf("err = %v, want ErrStepFailed\nlog:\n%s", err, h.log)
	}
	if !strings.Contains(h.log.String(), "running") {
		t.Fatalf("the program never ran:\n%s", h.log)
	}
	ok := false
	for _, w := range want {
		ok = ok || strings.Contains(err.Error(), w)
	}
	if !ok {
		t.Fatalf("err = %q, want one of %q\nlog:\n%s", err, want, h.log)
	}
	t.Logf("in the sandbox: %v", err)
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a failed build published %s", out)
	}
}

func signalOf(err error) syscall.Signal {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return ws.Signal()
		}
	}
	return 0
}

// int80ELF returns a tiny static x86-64 ELF program that calls exit(0) through the
// 32-bit int 0x80 entry point, and exit(42) through syscall if that returned.
func int80ELF() []byte {
	code := []byte{
		0xb8, 1, 0, 0, 0, // mov eax, 1 (exit, 32-bit ABI)
		0x31, 0xdb, // xor ebx, ebx
		0xcd, 0x80, // int 0x80
		0xbf, 42, 0, 0, 0, // mov edi, 42
		0xb8, 60, 0, 0, 0, // mov eax, 60 (exit, 64-bit ABI)
		0x0f, 0x05, // syscall
	}
	const base, ehsize, phsize = 0x400000, 64, 56
	total := uint64(ehsize + phsize + len(code))
	var b bytes.Buffer
	b.WriteString("\x7fELF")
	b.Write([]byte{2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	le := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	le(uint16(2))                      // ET_EXEC
	le(uint16(0x3e))                   // x86-64
	le(uint32(1))                      // version
	le(uint64(base + ehsize + phsize)) // entry
	le(uint64(ehsize))                 // program headers
	le(uint64(0))                      // no section headers
	le(uint32(0))                      // flags
	le([]uint16{ehsize, phsize, 1, 0, 0, 0})
	le([]uint32{1, 5})                              // PT_LOAD, R+X
	le([]uint64{0, base, base, total, total, 4096}) // offset, vaddr, paddr, filesz, memsz, align
	b.Write(code)
	return b.Bytes()
}

// yamlOctal writes b as printf octal escapes, with the backslashes doubled for a
// double-quoted YAML string.
func yamlOctal(b []byte) string {
	var esc strings.Builder
	for _, c := range b {
		fmt.Fprintf(&esc, `\\%03o`, c)
	}
	return esc.String()
}
