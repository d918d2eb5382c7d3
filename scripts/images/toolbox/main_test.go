package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The test binary doubles as the toolbox: called through a symlink named
// after an applet, it runs that applet (see binDir).
func TestMain(m *testing.M) {
	if _, ok := applets[filepath.Base(os.Args[0])]; ok {
		os.Exit(run(os.Args, &stdio{os.Stdin, os.Stdout, os.Stderr}))
	}
	os.Exit(m.Run())
}

// binDir returns a directory with a symlink per applet to the test binary,
// like /bin in the images.
func binDir(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, n := range names() {
		if err := os.Symlink(self, filepath.Join(dir, n)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// call runs an applet in this process.
func call(t *testing.T, stdin string, argv ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(argv, &stdio{strings.NewReader(stdin), &o, &e})
	return o.String(), e.String(), code
}

// shell runs sh as a real process with PATH=bin only, as in the images.
func shell(t *testing.T, bin, dir, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, "sh"), args...)
	cmd.Env = []string{"PATH=" + bin, "HOME=" + dir}
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code = cmd.ProcessState.ExitCode()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		code = 128 + int(ws.Signal())
	}
	if err != nil && code == -1 {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

func TestDispatch(t *testing.T) {
	out, _, code := call(t, "", "toolbox", "--list")
	if code != 0 || !strings.Contains(out, "\nsh\n") || !strings.HasPrefix(out, "cat\n") {
		t.Errorf("--list: %d %q", code, out)
	}
	if out, _, code := call(t, "", "/bin/toolbox", "echo", "hi"); code != 0 || out != "hi\n" {
		t.Errorf("toolbox echo: %d %q", code, out)
	}
	if _, errOut, code := call(t, "", "nosuch"); code != 127 || !strings.Contains(errOut, "unknown applet") {
		t.Errorf("unknown applet: %d %q", code, errOut)
	}
	if _, errOut, code := call(t, "", "cat", "-z"); code != 2 || !strings.HasPrefix(errOut, "cat: unknown option -z") {
		t.Errorf("bad flag: %d %q", code, errOut)
	}
}
