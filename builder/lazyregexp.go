package builder

import (
	"regexp"
	"sync"
)

// lazyRegexp compiles expr on first use instead of at package initialization: every
// slsabox command links this package, and `slsabox verify` starts faster when it
// does not compile the builder's expressions.
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}
