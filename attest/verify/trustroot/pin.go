package trustroot

import _ "embed"

// The TUF anchor of Sigstore's public-good repository: a copy of sigstore-go's
// embedded root.json (what tuf.DefaultRoot returns), kept here so that a dependency
// bump cannot change what slsabox trusts without a diff in this package.
// TestPublicGoodAnchorPinned checks the copy and its pin.
//
//go:embed publicgood_tuf_root.json
var publicGoodTUFRoot []byte

const (
	// PublicGoodMirror is Sigstore's public-good TUF repository.
	PublicGoodMirror = "https://tuf-repo-cdn.sigstore.dev"
	// publicGoodTUFRootOrigin says where publicgood_tuf_root.json was copied from.
	publicGoodTUFRootOrigin = "github.com/sigstore/sigstore-go@v1.3.0 pkg/tuf/repository/root.json (version 14)"
	publicGoodTUFRootSHA256 = "a0dfcc5d51c1ce4a66b541a3fff0afa97225ccc40456b21140bb2e2f113122e2"
)
