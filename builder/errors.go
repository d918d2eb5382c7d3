package builder

import (
	"errors"
	"fmt"

	"github.com/slsabox/slsabox/internal/errclass"
)

// Failure classes. Every error the builder returns wraps exactly one of these,
// at the front of its message ("invalid source: ..."), so that callers (the CLI's
// exit codes, the GitHub Action) can tell "the build is bad" from "the request is
// bad" from "the machine is bad" with errors.Is.
var (
	// ErrInvalidRequest is the family of the request's own faults: the definition, the
	// source, an input or the caller's settings. Fix them and build again.
	ErrInvalidRequest = errors.New("invalid request")
	// ErrInvalidDefinition: slsabox.yaml is malformed or asks for something unsupported.
	ErrInvalidDefinition = errclass.New("invalid build definition", ErrInvalidRequest)
	// ErrInvalidInput: a file or directory named on the command line is not what it must be.
	ErrInvalidInput = errclass.New("invalid input", ErrInvalidRequest)
	// ErrInvalidSource: the source directory is not a usable git work tree.
	ErrInvalidSource = errclass.New("invalid source", ErrInvalidRequest)
	// ErrDirtyTree: the work tree has uncommitted changes and AllowDirtyTree is off.
	ErrDirtyTree = errclass.New("work tree has uncommitted changes", ErrInvalidRequest)

	// ErrImage: the builder image cannot be found, does not match its digest, or is unusable.
	ErrImage = errors.New("builder image")
	// ErrStepFailed: a build step exited non-zero, was killed, or timed out.
	ErrStepFailed = errors.New("build step failed")
	// ErrOutputRejected: /out holds something that is not a plain regular file, or too much.
	ErrOutputRejected = errors.New("build output rejected")
	// ErrImageRejected: an image output (images: in slsabox.yaml) is not a complete,
	// consistent OCI image (a missing blob, a digest mismatch, a symlink, a manifest
	// that does not parse), a file it is assembled from is missing, or its base archive
	// does not hold its pinned digest. A fault of the request (exit 2), and an output
	// rejected.
	ErrImageRejected = errclass.New("image output rejected", ErrInvalidRequest, ErrOutputRejected)
	// ErrInputDigest: a declared input (url+sha256, a Go module pinned by go.sum) is not
	// what its digest says, as fetched or as found in the host cache.
	ErrInputDigest = errors.New("input digest mismatch")

	// ErrEnvironment: containerd, the disk or the host failed; trying again may help.
	ErrEnvironment = errors.New("build environment")
	// ErrInterrupted: the build was cancelled (Ctrl-C, SIGTERM) and cleaned up.
	ErrInterrupted = errors.New("build interrupted")
)

// StepError reports which step failed and why.
type StepError struct {
	Step     string
	ExitCode int    // -1 when the step never ran or its exit was lost
	Reason   string // "exit status 2", "timed out after 5s", "killed: out of memory (limit 64MiB)"
	Err      error  // ErrStepFailed or ErrEnvironment
}

func (e *StepError) Error() string {
	return fmt.Sprintf("step %q: %s", e.Step, e.Reason)
}

func (e *StepError) Unwrap() error { return e.Err }
