// Package hint attaches to an error what the user should do next, the one way every
// slsabox package does it. The CLI prints the first hint in an error's chain as
// "slsabox: hint: ...". Any error with a Hint() string method counts, so a library
// user reads hints with errors.As without importing this package.
package hint

import (
	"errors"
	"fmt"
)

// hinter is implemented by errors that know what the user should do next.
type hinter interface {
	Hint() string
}

type hinted struct {
	err  error
	hint string
}

func (e *hinted) Error() string { return e.err.Error() }
func (e *hinted) Unwrap() error { return e.err }
func (e *hinted) Hint() string  { return e.hint }

// Wrap returns err with the hint text; errors.Is and errors.As see through it. A nil
// err stays nil.
func Wrap(err error, text string) error {
	if err == nil {
		return nil
	}
	return &hinted{err: err, hint: text}
}

// Wrapf is Wrap with a formatted hint.
func Wrapf(err error, format string, args ...any) error {
	return Wrap(err, fmt.Sprintf(format, args...))
}

// Of returns the first hint in err's chain, or "".
func Of(err error) string {
	var h hinter
	if errors.As(err, &h) {
		return h.Hint()
	}
	return ""
}
