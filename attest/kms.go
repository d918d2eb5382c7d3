package attest

import (
	"context"
	"fmt"
)

// loadKMSSigner is filled in by the KMS providers compiled into this binary.
func loadKMSSigner(_ context.Context, scheme, ref string) (Signer, error) {
	return nil, fmt.Errorf("%w: KMS keys (%s://) are not supported by this build of slsabox; use a PEM key file", ErrKey, scheme)
}
