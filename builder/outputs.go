package builder

import (
	"crypto/sha256"
	"encoding/hex"

	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/slsabox/slsabox/internal/hint"
)

// Subject is one output file: its name (path under /out) and sha256 digest.
type Subject struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	// Go is the build info of a Go binary (debug/buildinfo); nil for any other file.
	Go *GoBinary `json:"go,omitempty"`
}

// reservedOutputNames are files slsabox itself writes into OUT.
var reservedOutputNames = []string{"build.log", "provenance.sigstore.json", "sbom.sigstore.json", "result.json", ".slsabox-output"}

// collectOutputs checks everything a build left in outDir and copies the files that
// match patterns into stage, hashing them on the way. Anything that is not a regular
// file or directory (symlink, hard link, device, fifo, socket) and any setuid, setgid
// or sticky file anywhere in /out fails the build: a hostile step cannot smuggle a
// link to a host file or a privileged binary into the release.
func collectOutputs(outDir, stage string, patterns []string, limit int64) ([]Subject, error) {
	var (
		subjects []Subject
		total    int64
		matched  []string
	)
	err := filepath.WalkDir(outDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("%w: reading /out: %w", ErrEnvironment, err)
		}
		rel, _ := filepath.Rel(outDir, p)
		if rel == "." {
			return nil
		}
		name := filepath.ToSlash(rel)
		fi, err := os.Lstat(p)
		if err != nil {
			return fmt.Errorf("%w: reading /out/%s: %w", ErrEnvironment, name, err)
		}
		mode := fi.Mode()
		if bad := badMode(fi); bad != "" {
			return hint.Wrapf(fmt.Errorf("%w: /out/%s is %s", ErrOutputRejected, name, bad),
				"write only plain regular files into /out (copy the target instead of linking; no setuid/setgid bits)")
		}
		if mode.IsDir() {
			return nil
		}
		total += fi.Size()
		if total > limit {
			return hint.Wrapf(fmt.Errorf("%w: /out holds more than limits.output_size (%s)", ErrOutputRejected, formatSize(limit)),
				"raise limits.output_size in slsabox.yaml or write less into /out")
		}
		if matchAny(patterns, "/out/"+name) {
			matched = append(matched, name)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(matched)
	for _, name := range matched {
		// OUT's top level is slsabox's too: /out/build.log/x would make build.log a
		// directory, and writing the log would then fail as if the machine had.
		top, _, _ := strings.Cut(name, "/")
		for _, r := range reservedOutputNames {
			if top == r {
				return nil, hint.Wrapf(fmt.Errorf("%w: /out/%s has a name slsabox uses for its own files (%s)", ErrOutputRejected, name, r),
					"rename the output")
			}
		}
		sum, size, err := copyAndHash(filepath.Join(outDir, filepath.FromSlash(name)), filepath.Join(stage, filepath.FromSlash(name)))
		if err != nil {
			return nil, err
		}
		subjects = append(subjects, Subject{Name: name, SHA256: sum, Size: size})
	}
	if len(subjects) == 0 && len(patterns) > 0 { // an images-only build may declare no outputs
		return nil, hint.Wrapf(fmt.Errorf("%w: no file in /out matches %s", ErrOutputRejected, strings.Join(patterns, ", ")),
			"make a step write its artifacts into /out, or fix outputs: in slsabox.yaml")
	}
	return subjects, nil
}

// badMode names what is wrong with a /out entry, or returns "".
func badMode(fi fs.FileInfo) string {
	mode := fi.Mode()
	switch {
	case mode&fs.ModeSymlink != 0:
		return "a symlink"
	case mode&fs.ModeDevice != 0:
		return "a device node"
	case mode&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case mode&fs.ModeSocket != 0:
		return "a socket"
	case mode&fs.ModeSetuid != 0:
		return "setuid"
	case mode&fs.ModeSetgid != 0:
		return "setgid"
	case mode.IsDir():
		return ""
	case !mode.IsRegular():
		return "not a regular file"
	case mode&fs.ModeSticky != 0:
		return "a sticky file"
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
		return fmt.Sprintf("a hard link (%d names for one file)", st.Nlink)
	}
	return ""
}

// copyAndHash copies src to dst (creating parents) and returns its sha256 and size.
// The source is opened without following links, so a race that swaps in a link fails.
func copyAndHash(src, dst string) (string, int64, error) {
	in, err := os.OpenFile(src, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return "", 0, fmt.Errorf("%w: opening %s: %w", ErrOutputRejected, src, err)
	}
	defer in.Close()
	if fi, err := in.Stat(); err != nil || !fi.Mode().IsRegular() || badMode(fi) != "" {
		return "", 0, fmt.Errorf("%w: %s changed while it was collected", ErrOutputRejected, src)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", 0, fmt.Errorf("%w: writing outputs: %w", ErrEnvironment, err)
	}
	mode := os.FileMode(0o644)
	if fi, err := in.Stat(); err == nil && fi.Mode().Perm()&0o111 != 0 {
		mode = 0o755 // an executable stays executable; no other bit survives
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return "", 0, fmt.Errorf("%w: writing outputs: %w", ErrEnvironment, err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", 0, fmt.Errorf("%w: writing outputs: %w", ErrEnvironment, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// matchAny reports whether name matches one of the patterns; "**" matches zero or
// more directory levels.
func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if matchPattern(strings.Split(p, "/"), strings.Split(name, "/")) {
			return true
		}
	}
	return false
}

func matchPattern(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for i := 0; i <= len(name); i++ {
				if matchPattern(pat[1:], name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], name[0]); !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}
