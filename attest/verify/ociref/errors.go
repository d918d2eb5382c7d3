package ociref

import "errors"

// Failure classes, wrapped with the details.
var (
	// ErrReference: the image reference cannot be used (not oci:// or oci-layout:,
	// a tag instead of a digest, a malformed name).
	ErrReference = errors.New("invalid image reference")
	// ErrUnreachable: the registry could not be asked (network, server errors,
	// credentials); nothing was learnt about the image, try again.
	ErrUnreachable = errors.New("registry unreachable")
	// ErrNoAttestation: the image has no referrer of the bundle artifact type.
	ErrNoAttestation = errors.New("no attestation attached")
	// ErrInvalidImage: the layout does not hold the image intact (a blob missing
	// or not matching its digest).
	ErrInvalidImage = errors.New("invalid image")
	// ErrRefused: one referrer was refused (another subject, a wrong shape, too
	// large, not matching its digest); Bundle.Err wraps it.
	ErrRefused = errors.New("referrer refused")
)
