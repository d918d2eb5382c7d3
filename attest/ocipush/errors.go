package ocipush

import "errors"

// Failure classes of a push.
var (
	// ErrUnavailable: the registry could not be reached, refused the credentials or
	// failed a request. Nothing is lost; push again later.
	ErrUnavailable = errors.New("registry unavailable")
	// ErrInvalidImage: an image's OCI layout is incomplete, does not match its digest,
	// or the image is not a subject of the bundle.
	ErrInvalidImage = errors.New("image not pushable")
	// ErrInvalidBundle: the bundle is not a DSSE-signed in-toto statement.
	ErrInvalidBundle = errors.New("invalid provenance bundle")
	// ErrConfiguration: an option is invalid (a bad --registry).
	ErrConfiguration = errors.New("invalid push configuration")
)
