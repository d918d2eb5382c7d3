//go:build unix

package trustedpath

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	prog := filepath.Join(dir, "prog")
	if err := os.WriteFile(prog, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Check(prog); err != nil {
		t.Errorf("a program of this user, in its own directories: %v", err)
	}
	if err := os.Chmod(prog, 0o775); err != nil {
		t.Fatal(err)
	}
	if err := Check(prog); err == nil {
		t.Error("a group-writable program was trusted")
	}
	if err := os.Chmod(prog, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := Check(prog); err == nil {
		t.Error("a program in a directory anyone may write was trusted")
	}
	if err := Check(dir); err == nil {
		t.Error("a directory was trusted as a program")
	}
}
