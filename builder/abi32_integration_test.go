//go:build integration

package builder

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/slsabox/slsabox/internal/testenv"
)

// TestSandbox32BitSyscalls checks what the sandbox guarantees about the 32-bit
// system call entry (int 0x80): a step never reaches a system call through it. The
// seccomp filter admits only the native ABI, so where the kernel takes the call as far
// as seccomp, the step dies of SIGSYS (exit 159). Some kernels here fault on int 0x80
// before seccomp sees it (SIGSEGV, 139), even outside any sandbox; the test finds out
// on the host which case applies, says so, and accepts either death there. It never
// accepts an exit, 0 or otherwise. Where the host faults, TestSandboxX32Syscalls
// is the one that shows the filter at work: seccomp sees x32 calls on every kernel.
func TestSandbox32BitSyscalls(t *testing.T) {
	h := newHarness(t)
	elf := int80ELF()

	hostErr := runOnHost(t, elf)
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

// runOnHost runs the program elf directly on the host, outside any sandbox, to learn
// what this kernel does with it.
func runOnHost(t *testing.T, elf []byte) error {
	t.Helper()
	program := filepath.Join(t.TempDir(), "probe")
	if err := os.WriteFile(program, elf, 0o755); err != nil {
		t.Fatal(err)
	}
	return exec.Command(program).Run()
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

// TestSandboxX32Syscalls checks the same guarantee through the x32 ABI (the syscall
// instruction with bit 30 of the number set), which seccomp sees on every kernel,
// with x32 support or without: the filter admits only the native ABI, so the step
// must die of SIGSYS (159), never exit. On the host the same program exits 0 (x32
// enabled) or 42 (the kernel answered ENOSYS); the test says which.
func TestSandboxX32Syscalls(t *testing.T) {
	h := newHarness(t)
	elf := x32ELF()
	switch err := runOnHost(t, elf); {
	case err == nil:
		t.Logf("on the host, outside the sandbox, x32 system calls work (exit 0)")
	case exitCode(err) == 42:
		t.Logf("on the host, outside the sandbox, the kernel refuses x32 system calls (ENOSYS, exit 42)")
	default:
		t.Fatalf("the probe program fails on the host with %v: it is broken, not the sandbox", err)
	}
	dir := h.project(fmt.Sprintf(`  - name: x32
    run: [sh, -c, "printf '%s' > /tmp/x32 && chmod +x /tmp/x32 && echo running && exec /tmp/x32"]`, yamlOctal(elf)), "")
	_, _, err := h.build(context.Background(), dir)
	if testenv.GVisor() && errors.Is(err, ErrStepFailed) && strings.Contains(err.Error(), "exit status 42") {
		// gVisor implements no x32 system call: its Sentry answers ENOSYS, and the
		// call never reaches the host kernel.
		t.Logf("under gVisor the x32 call was refused with ENOSYS (exit 42), in the Sentry")
		return
	}
	if !errors.Is(err, ErrStepFailed) || !strings.Contains(err.Error(), "exit status 159") {
		t.Fatalf("err = %v, want the step killed by SIGSYS (exit status 159)\nlog:\n%s", err, h.log)
	}
	if !strings.Contains(h.log.String(), "running") {
		t.Fatalf("the program never ran:\n%s", h.log)
	}
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// int80ELF returns a tiny static x86-64 ELF program that calls exit(0) through the
// 32-bit int 0x80 entry point, and exit(42) through syscall if that returned.
func int80ELF() []byte {
	return elf64([]byte{
		0xb8, 1, 0, 0, 0, // mov eax, 1 (exit, 32-bit ABI)
		0x31, 0xdb, // xor ebx, ebx
		0xcd, 0x80, // int 0x80
		0xbf, 42, 0, 0, 0, // mov edi, 42
		0xb8, 60, 0, 0, 0, // mov eax, 60 (exit, 64-bit ABI)
		0x0f, 0x05, // syscall
	})
}

// x32ELF returns a program that calls exit(0) as an x32 system call (60 with bit 30
// set), and exit(42) natively if that returned.
func x32ELF() []byte {
	return elf64([]byte{
		0xb8, 60, 0, 0, 0x40, // mov eax, 0x4000003c (exit, x32 ABI)
		0x31, 0xff, // xor edi, edi
		0x0f, 0x05, // syscall
		0xbf, 42, 0, 0, 0, // mov edi, 42
		0xb8, 60, 0, 0, 0, // mov eax, 60 (exit, 64-bit ABI)
		0x0f, 0x05, // syscall
	})
}

// elf64 wraps machine code into a minimal static x86-64 ELF executable.
func elf64(code []byte) []byte { return staticELF(62, code) }

// yamlOctal writes b as printf octal escapes, with the backslashes doubled for a
// double-quoted YAML string.
func yamlOctal(b []byte) string {
	var esc strings.Builder
	for _, c := range b {
		fmt.Fprintf(&esc, `\\%03o`, c)
	}
	return esc.String()
}
