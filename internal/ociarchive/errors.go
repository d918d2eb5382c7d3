package ociarchive

import "errors"

var (
	// errInvalidOptions means Options (ref, env, workdir, epoch) are malformed.
	errInvalidOptions = errors.New("invalid image options")
	// errInvalidLayer means a layer source cannot be read as a directory or a tar.
	errInvalidLayer = errors.New("invalid layer")
	// errUnsafeEntry means an input tar holds an entry that would escape the
	// layer root or be ambiguous once extracted.
	errUnsafeEntry = errors.New("unsafe layer entry")
)
