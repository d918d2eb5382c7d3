package builder

import (
	"bytes"
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

func TestChooseRuntime(t *testing.T) {
	for _, tt := range []struct {
		asked, def, want string
		err              bool
	}{
		{"", "", RuntimeRunc, false},
		{"", RuntimeGVisor, RuntimeGVisor, false},
		{"", RuntimeRunc, RuntimeRunc, false},
		{RuntimeGVisor, "", RuntimeGVisor, false},
		{RuntimeGVisor, RuntimeRunc, RuntimeGVisor, false}, // the stronger sandbox is always allowed
		{RuntimeRunc, "", RuntimeRunc, false},
		{RuntimeRunc, RuntimeGVisor, "", true}, // never weakened
	} {
		got, err := chooseRuntime(tt.asked, &Definition{File: "slsabox.yaml", Runtime: tt.def})
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("chooseRuntime(%q, %q) = %q, %v; want %q (error %v)", tt.asked, tt.def, got, err, tt.want, tt.err)
		}
		if err != nil && !errors.Is(err, ErrInvalidInput) {
			t.Errorf("error %v is not ErrInvalidInput", err)
		}
	}
}

func TestWithRuntime(t *testing.T) {
	var c config
	for _, ok := range []string{RuntimeRunc, RuntimeGVisor} {
		if err := WithRuntime(ok)(&c); err != nil || c.runtime != ok {
			t.Errorf("WithRuntime(%q): %v, runtime %q", ok, err, c.runtime)
		}
	}
	for _, bad := range []string{"", "runsc", "kata"} {
		if err := WithRuntime(bad)(&c); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("WithRuntime(%q) = %v, want ErrInvalidInput", bad, err)
		}
	}
}

func TestAtLeast17(t *testing.T) {
	for v, want := range map[string]bool{
		"1.6.20~ds1": false, "1.5.0": false, "v1.6.38": false,
		"1.7.0": true, "v1.7.27": true, "2.4.2+unknown": true, "v2.0.0": true, "": true, "dev": true,
	} {
		if got := atLeast17(v); got != want {
			t.Errorf("atLeast17(%q) = %v, want %v", v, got, want)
		}
	}
}

// TestPauseProgram runs the pause program of this machine's architecture: it must
// wait, not exit, until it is killed; and the other architecture's must be a valid
// executable of its machine.
func TestPauseProgram(t *testing.T) {
	for arch, machine := range map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64} {
		b, err := pauseProgram(arch)
		if err != nil {
			t.Fatal(err)
		}
		f, err := elf.NewFile(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", arch, err)
		}
		if f.Machine != machine || f.Type != elf.ET_EXEC || len(f.Progs) != 1 || f.Progs[0].Filesz != uint64(len(b)) {
			t.Errorf("%s: machine %v, type %v, %d segments", arch, f.Machine, f.Type, len(f.Progs))
		}
	}
	if _, err := pauseProgram("riscv64"); !errors.Is(err, ErrEnvironment) {
		t.Errorf("riscv64: %v, want ErrEnvironment", err)
	}
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		return
	}
	b, _ := pauseProgram(runtime.GOARCH)
	p := filepath.Join(t.TempDir(), "pause")
	if err := os.WriteFile(p, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(p)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		t.Fatalf("the pause program exited by itself: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	_ = cmd.Process.Kill()
	if err := <-done; err == nil || cmd.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("after SIGKILL: %v", err)
	}
}

func TestReachable(t *testing.T) {
	dir := t.TempDir() // 0700
	inner := filepath.Join(dir, "w")
	if err := os.Mkdir(inner, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := reachable(inner); !errors.Is(err, ErrEnvironment) {
		t.Errorf("through a 0700 directory: %v, want ErrEnvironment", err)
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Dir(dir), 0o711); err != nil {
		t.Fatal(err)
	}
	if err := reachable(inner); err != nil {
		t.Errorf("through 0711 directories: %v", err)
	}
}
