package ociarchive

import "errors"

var (
	// ErrInvalidOptions means Options (ref, env, workdir, epoch) are malformed.
	ErrInvalidOptions = errors.New("invalid image options")
	// ErrInvalidLayer means a layer source cannot be read as a directory or a tar.
	ErrInvalidLayer = errors.New("invalid layer")
	// ErrUnsafeEntry means an input tar holds an entry that would escape the
	// layer root or be ambiguous once extracted.
	ErrUnsafeEntry = errors.New("unsafe layer entry")
)
