package builder

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/slsabox/slsabox/internal/hint"
)

// Size caps of the files the control plane (root) reads from a commit or a work tree
// (docs/config.md): a larger file is refused before it is read to the end.
const (
	// maxDefinitionSize caps slsabox.yaml.
	maxDefinitionSize = 1 << 20
	// maxGoSumSize caps a go.sum named by a gomod input.
	maxGoSumSize = 16 << 20
	// maxGoModSize caps the go.mod beside it.
	maxGoModSize = 4 << 20
)

// Why a file of the source was refused; readSourceFile wraps one of these.
var (
	errLeavesRoot = errors.New("is a symlink that leads out of the source")
	errNotRegular = errors.New("is not a regular file")
	errTooLarge   = errors.New("is larger than slsabox reads")
)

// readSourceFile reads the file rel inside the directory root the way the root-run
// control plane must read anything a commit or a work tree holds: opened inside root
// with os.Root, so that no symlink (of the file or of a directory on its way) leads
// out of root; opened non-blocking, so that a FIFO cannot hang the build; and read
// only when it is a regular file of at most limit bytes, so that /dev/zero cannot
// fill the memory. A symlink that stays inside root is followed.
//
// The error wraps fs.ErrNotExist, errLeavesRoot, errNotRegular or errTooLarge (or
// the OS error), and names rel, never anything the file holds.
func readSourceFile(root, rel string, limit int64) ([]byte, error) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	f, err := r.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, openErr(rel, err)
	}
	defer f.Close()
	return readRegular(f, rel, limit)
}

// readUserFile reads a file the user named on the command line, outside any source
// tree: the path is the user's to choose, but it must still be a regular file of at
// most limit bytes, opened without blocking.
func readUserFile(name string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readRegular(f, name, limit)
}

func readRegular(f *os.File, name string, limit int64) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s %w (it is a %s)", name, errNotRegular, fileKind(fi.Mode()))
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("%s %w: %s, the limit is %s", name, errTooLarge, formatSize(fi.Size()), formatSize(limit))
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if int64(len(data)) > limit { // grew while read, or a file whose size stat does not tell (procfs)
		return nil, fmt.Errorf("%s %w: more than %s", name, errTooLarge, formatSize(limit))
	}
	return data, nil
}

func openErr(rel string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: %s", fs.ErrNotExist, rel)
	case errors.Is(err, syscall.ELOOP):
		return fmt.Errorf("%s %w (too many levels of symlinks)", rel, errLeavesRoot)
	case strings.Contains(err.Error(), "path escapes from parent"): // os.Root's own error, not exported
		return fmt.Errorf("%s %w", rel, errLeavesRoot)
	}
	return err
}

func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&fs.ModeNamedPipe != 0:
		return "FIFO"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "device"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	}
	return "special file"
}

// maxQuoted is how much of a file's content an error may quote: the offending token,
// cut to this many bytes, so that an error about a file that is not what it should be
// (a private key behind a symlink) cannot carry it into a CI log.
const maxQuoted = 16

// quoteToken quotes s for an error message, cut to maxQuoted bytes.
func quoteToken(s string) string {
	if len(s) <= maxQuoted {
		return fmt.Sprintf("%q", s)
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%q...", s[:cut])
}

var quotedRE = lazyRegexp(`"(?:[^"\\]|\\.)*"|` + "`[^`]*`")

// longWordRE matches a run of unquoted text longer than maxQuoted: a token of the
// file that a parser put in its message without quotes (a module path, a word after
// an apostrophe).
var longWordRE = lazyRegexp("[^\\s\"`]{" + fmt.Sprint(maxQuoted+1) + ",}")

// boundQuotes cuts every quoted string in msg (Go %q and `...`, as error messages of
// the YAML and go.mod parsers quote tokens) to maxQuoted bytes. Single quotes are
// not taken as quotes: an apostrophe in a message would swallow the next quote.
func boundQuotes(msg string) string {
	return quotedRE().ReplaceAllStringFunc(msg, func(q string) string {
		inner := q[1 : len(q)-1]
		if len(inner) <= maxQuoted {
			return q
		}
		cut := maxQuoted
		for cut > 0 && !utf8.RuneStart(inner[cut]) {
			cut--
		}
		kept := strings.TrimRight(inner[:cut], `\\`) // never end on half an escape
		return q[:1] + kept + q[len(q)-1:] + "..."
	})
}

// sourceFileErr reports a file of the source that readSourceFile refused, as
// ErrInvalidSource; fix is the hint for a file that does not exist.
func sourceFileErr(what, rel string, err error, fix string) error {
	switch {
	case errors.Is(err, errLeavesRoot), errors.Is(err, errNotRegular), errors.Is(err, errTooLarge):
		return hint.Wrapf(fmt.Errorf("%w: %s %w", ErrInvalidSource, what, err),
			"slsabox reads only regular files inside the source, of at most the size docs/config.md gives: commit the file itself, not a symlink to something outside")
	case errors.Is(err, fs.ErrNotExist):
		return hint.Wrap(fmt.Errorf("%w: %s %s does not exist", ErrInvalidSource, what, rel), fix)
	}
	return hint.Wrap(fmt.Errorf("%w: %s %s: %w", ErrInvalidSource, what, rel, err), fix)
}

// maxErrorMsg caps a parser's message about a file of the source.
const maxErrorMsg = 240

// boundMsg bounds a parser's message: quoted tokens cut, the whole cut to maxErrorMsg.
func boundMsg(msg string) string {
	msg = boundQuotes(msg)
	msg = longWordRE().ReplaceAllStringFunc(msg, func(w string) string {
		cut := maxQuoted
		for cut > 0 && !utf8.RuneStart(w[cut]) {
			cut--
		}
		return w[:cut] + "..."
	})
	if len(msg) > maxErrorMsg {
		cut := maxErrorMsg
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "..."
	}
	return msg
}
