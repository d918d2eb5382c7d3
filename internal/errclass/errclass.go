// Package errclass makes failure classes that belong to wider families. A class
// prints only its own message, and errors.Is matches the class and every family it
// names: attest.ErrLogUnavailable is an attest.ErrUnavailable, so a caller that only
// cares whether to retry checks the family. Each slsabox package declares its classes
// and families with it.
package errclass

// New returns a class with message msg in the given families.
func New(msg string, families ...error) error { return &class{msg: msg, families: families} }

type class struct {
	msg      string
	families []error
}

func (e *class) Error() string   { return e.msg }
func (e *class) Unwrap() []error { return e.families }
