package sbomcheck

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVendoredSums checks the vendored schemas and the fixtures against their
// SHA256SUMS without node: the validator refuses an altered schema, and this says so
// before the integration pass.
func TestVendoredSums(t *testing.T) {
	for _, dir := range []string{"../../scripts/sbom-validate/schemas", "testdata"} {
		f, err := os.Open(filepath.Join(dir, "SHA256SUMS"))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		s := bufio.NewScanner(f)
		for s.Scan() {
			want, name, ok := strings.Cut(s.Text(), "  ")
			if !ok {
				t.Fatalf("%s/SHA256SUMS: not a sha256sum line: %q", dir, s.Text())
			}
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(data)
			if got := hex.EncodeToString(sum[:]); got != want {
				t.Errorf("%s/%s: sha256 %s, SHA256SUMS says %s (restore it from the origin its README names)", dir, name, got, want)
			}
			n++
		}
		f.Close()
		if n == 0 {
			t.Errorf("%s/SHA256SUMS lists nothing", dir)
		}
	}
}
