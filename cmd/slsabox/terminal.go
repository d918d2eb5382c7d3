package main

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Text output carries strings slsabox does not control: refs, builder ids and
// details from bundles and provenance, subject names from /out, step logs. Printed raw,
// a newline or an escape sequence in one of them could draw a forged "ok" line or a
// VERIFIED header over a failing result. termSafe escapes them in a single field;
// termWriter in a stream of lines. JSON output needs neither: encoding/json escapes.

// termSafe returns s with every control character (C0 including newline and tab, DEL,
// C1), every bidirectional override and every invalid UTF-8 byte escaped as Go
// escapes them (\n, \x1b, \u202e, \xff).
func termSafe(s string) string {
	return escapeControls(s, false)
}

func escapeControls(s string, keepLines bool) string {
	if !needsEscape(s, keepLines) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case keepLines && (r == '\n' || r == '\t'):
			b.WriteRune(r)
		case isControl(r):
			q := fmt.Sprintf("%+q", string(r)) // "\x1b", "\u202e", "\n"
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func needsEscape(s string, keepLines bool) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || (isControl(r) && !(keepLines && (r == '\n' || r == '\t'))) {
			return true
		}
		i += size
	}
	return false
}

func isControl(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) ||
		(r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f || r == 0x061c
}

// termWriter escapes control characters other than newline and tab in what it
// writes: for streams of whole lines (stderr: progress, step logs, errors).
type termWriter struct{ w io.Writer }

func (t termWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(t.w, escapeControls(string(p), true)); err != nil {
		return 0, err
	}
	return len(p), nil
}
