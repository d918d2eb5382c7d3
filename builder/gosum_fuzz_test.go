package builder

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// FuzzParseGoSum: go.sum comes from the source being built, so it is untrusted. The
// parser never panics, fails only with ErrInvalidSource, and what it accepts writes
// back to lines that parse to the same entries (round trip).
func FuzzParseGoSum(f *testing.F) {
	f.Add("golang.org/x/text v0.43.0 h1:1QivrlhwAsnMOcqgOdl9my7s9OyZl8O5/UGUTJVXoWc=\ngolang.org/x/text v0.43.0/go.mod h1:hbSIYA/amXcRXTFSZqh8tWHEoqRvvbKPJ2uz/KU+a+s=\n")
	f.Add("example.com/Upper/m v1.0.0-rc.1+incompatible/go.mod h1:x\n\n")
	f.Add("a b c d\n")
	f.Add("example.com/m v1.0.0 h2:x\n")
	f.Fuzz(func(t *testing.T, data string) {
		entries, err := parseGoSum("go.sum", []byte(data))
		if err != nil {
			if !errors.Is(err, ErrInvalidSource) {
				t.Fatalf("error without ErrInvalidSource: %v", err)
			}
			return
		}
		var b strings.Builder
		for _, e := range entries {
			v := e.Mod.Version
			if e.GoMod {
				v += "/go.mod"
			}
			fmt.Fprintf(&b, "%s %s %s\n", e.Mod.Path, v, e.Hash)
		}
		again, err := parseGoSum("go.sum", []byte(b.String()))
		if err != nil || len(again) != len(entries) {
			t.Fatalf("round trip: %v, %d entries, want %d", err, len(again), len(entries))
		}
		for i := range entries {
			if again[i].key() != entries[i].key() || again[i].Hash != entries[i].Hash {
				t.Fatalf("round trip changed entry %d: %+v -> %+v", i, entries[i], again[i])
			}
			if h := entries[i].Hash; !strings.HasPrefix(h, "h1:") {
				t.Fatalf("accepted hash %q", h)
			}
		}
	})
}
