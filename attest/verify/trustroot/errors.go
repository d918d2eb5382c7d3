package trustroot

import (
	"errors"

	"github.com/slsabox/slsabox/internal/errclass"
)

// ErrNotRefreshed is the family of reasons a trusted root is not a fresh refresh from
// the TUF repository: the repository is unreachable, answers with an error, the cache
// cannot be written, --offline was asked, or ErrRejected. Load then falls back to the
// cached root, or the embedded one, and says so in Root.Warning.
var ErrNotRefreshed = errors.New("trusted root not refreshed")

// ErrRejected is a TUF verification failure: the repository served metadata that is
// rolled back, badly signed, expired, or a target whose hash differs from the signed
// one. It is what an attack on the repository or the network path looks like, so it
// is never retried silently.
var ErrRejected = errclass.New("TUF repository refused (possible attack)", ErrNotRefreshed)
