//go:build integration

package builder

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestSigningFailureKeepsLogAndArtifacts: a build that succeeds and then fails to sign
// (Finish returns an error: the key, Fulcio, the TSA) leaves OUT untouched but keeps
// the log in OUT.failed.log and the unsigned artifacts in OUT.failed.
func TestSigningFailureKeepsLogAndArtifacts(t *testing.T) {
	h := newHarness(t)
	dir := h.project(`  - name: copy
    run: [cp, /src/README, /out/README]`, "")
	out := filepath.Join(t.TempDir(), "out")
	errSign := errors.New("fulcio is down")
	_, err := h.b.Build(context.Background(), Request{SourceDir: dir, OutDir: out,
		Finish: func(context.Context, string, *Result) error { return errSign }})
	h.assertClean()
	if !errors.Is(err, errSign) {
		t.Fatalf("err = %v, want the signing error", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("OUT was published: %v", err)
	}
	if _, err := os.Stat(out + ".failed.log"); err != nil {
		t.Errorf("no OUT.failed.log: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(out+".failed", "README")); err != nil || string(b) != "test project\n" {
		t.Errorf("OUT.failed/README: %q, %v", b, err)
	}
}
