package verify

import (
	_ "embed"
	"fmt"
	"sync"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// The pinned copy of Sigstore's public-good trusted root; publicgood_pin.go says
// which module and version it was copied from, and its sha256. docs/verify.md says
// how to refresh it.
//
//go:generate go run ../../internal/cmd/publicgoodroot -module github.com/sigstore/sigstore-go@v1.3.0 -file examples/trusted-root-public-good.json -out publicgood_trusted_root.json -pin publicgood_pin.go
//go:embed publicgood_trusted_root.json
var publicGoodRootJSON []byte

var publicGood = sync.OnceValues(func() (*root.TrustedRoot, error) {
	return root.NewTrustedRootFromJSON(publicGoodRootJSON)
})

// PublicGoodTrustedRoot returns Sigstore's public-good trusted root (rekor.sigstore.dev
// and fulcio.sigstore.dev), as pinned in this build of slsabox. It is parsed once; the
// result is shared and must not be changed.
func PublicGoodTrustedRoot() (*root.TrustedRoot, error) {
	tr, err := publicGood()
	if err != nil {
		return nil, fmt.Errorf("%w: the embedded public-good trusted root (rebuild slsabox, or give --trusted-root): %w", ErrTrustMaterial, err)
	}
	return tr, nil
}

// PublicGoodTrustedRootJSON returns the embedded trusted_root.json, byte for byte.
func PublicGoodTrustedRootJSON() []byte { return append([]byte(nil), publicGoodRootJSON...) }
