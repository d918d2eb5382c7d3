package builder

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/slsabox/slsabox/internal/hint"
	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
)

// goSumEntry is one line of a go.sum: the h1: hash of a module's zip, or (GoMod)
// of its go.mod file alone.
type goSumEntry struct {
	Mod   module.Version
	GoMod bool   // the line is "PATH VERSION/go.mod h1:..."
	Hash  string // "h1:<base64>"
	Line  int
}

// key identifies the entry across go.sum files.
func (e goSumEntry) key() string {
	if e.GoMod {
		return e.Mod.Path + "@" + e.Mod.Version + "/go.mod"
	}
	return e.Mod.Path + "@" + e.Mod.Version
}

// parseGoSum reads a go.sum. Every line must be "PATH VERSION[/go.mod] h1:HASH" with
// a valid module path and canonical version; anything else is an error naming the line.
func parseGoSum(file string, data []byte) ([]goSumEntry, error) {
	var out []goSumEntry
	seen := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		bad := func(why string) error {
			return hint.Wrapf(fmt.Errorf("%w: %s:%d: %s", ErrInvalidSource, file, n, boundMsg(why)),
				"regenerate go.sum with go mod tidy and commit it")
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			return nil, bad("want three fields: module path, version and hash")
		}
		e := goSumEntry{Hash: f[2], Line: n}
		v, isMod := strings.CutSuffix(f[1], "/go.mod")
		e.Mod, e.GoMod = module.Version{Path: f[0], Version: v}, isMod
		if err := module.Check(e.Mod.Path, e.Mod.Version); err != nil {
			return nil, bad(err.Error())
		}
		if module.CanonicalVersion(e.Mod.Version) != e.Mod.Version {
			return nil, bad(fmt.Sprintf("version %q is not canonical", e.Mod.Version))
		}
		if !strings.HasPrefix(e.Hash, "h1:") {
			return nil, bad(fmt.Sprintf("hash %q is not an h1: hash (the only kind the go command writes)", e.Hash))
		}
		if raw, err := base64.StdEncoding.DecodeString(e.Hash[3:]); err != nil || len(raw) != sha256.Size {
			return nil, bad(fmt.Sprintf("hash %q is not h1: and the base64 of 32 bytes", e.Hash))
		}
		if prev, ok := seen[e.key()]; ok {
			if prev != e.Hash {
				return nil, bad(fmt.Sprintf("%q has two different hashes", e.key()))
			}
			continue
		}
		seen[e.key()] = e.Hash
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, hint.Wrapf(fmt.Errorf("%w: %s: %w", ErrInvalidSource, file, err), "regenerate go.sum with go mod tidy")
	}
	return out, nil
}

// missingSums returns the modules go.mod requires (after replacements) that have no
// go.mod hash in sums: the go command would have to fetch and trust them unchecked.
func missingSums(file string, goMod []byte, sums []goSumEntry) ([]string, error) {
	mf, err := modfile.Parse(file, goMod, nil)
	if err != nil {
		return nil, hint.Wrapf(fmt.Errorf("%w: %s", ErrInvalidSource, goModErr(file, err)), "fix go.mod (go mod tidy)")
	}
	have := map[string]bool{}
	for _, e := range sums {
		if e.GoMod {
			have[e.Mod.Path+"@"+e.Mod.Version] = true
		}
	}
	var missing []string
	for _, r := range mf.Require {
		m := r.Mod
		for _, rep := range mf.Replace {
			if rep.Old.Path == m.Path && (rep.Old.Version == "" || rep.Old.Version == m.Version) {
				m = rep.New
			}
		}
		if m.Version == "" { // replaced by a directory of the source: nothing to fetch
			continue
		}
		if !have[m.Path+"@"+m.Version] {
			missing = append(missing, m.Path+"@"+m.Version)
		}
	}
	slices.Sort(missing)
	return missing, nil
}

// goModErr describes a go.mod the parser refused by its first error only, with the
// offending token cut short: the parser reports every line of a file that is not a
// go.mod ("unknown directive: <first word>"), which would otherwise quote a private
// key behind a symlink line by line.
func goModErr(file string, err error) string {
	var list modfile.ErrorList
	if !errors.As(err, &list) || len(list) == 0 {
		return file + ": " + boundMsg(err.Error())
	}
	first := list[0]
	msg := first.Err.Error()
	if verb, ok := strings.CutPrefix(msg, "unknown directive: "); ok {
		msg = "unknown directive " + quoteToken(verb)
	}
	loc := file
	if first.Pos.Line > 0 {
		loc = fmt.Sprintf("%s:%d", file, first.Pos.Line)
	}
	s := loc + ": " + boundMsg(msg)
	if len(list) > 1 {
		s += fmt.Sprintf(" (and %d more errors)", len(list)-1)
	}
	return s
}
