package verify

import "errors"

// Failure classes of Verify: the artifact or its provenance is not what the policy wants.
var (
	// ErrSignature: the bundle is malformed or its signature does not verify with the trust material.
	ErrSignature = errors.New("signature not verified")
	// ErrNotLogged: the bundle has no valid transparency log proof for the trusted log.
	ErrNotLogged = errors.New("no valid transparency log entry")
	// ErrDigestMismatch: no subject of the provenance has the artifact's digest.
	ErrDigestMismatch = errors.New("artifact digest not in the provenance")
	// ErrUntrustedBuilder: the provenance names another builder.
	ErrUntrustedBuilder = errors.New("untrusted builder")
	// ErrPolicy: the provenance does not meet another expectation of the policy.
	ErrPolicy = errors.New("policy not met")
)

// Configuration errors: nothing was learnt about the artifact.
var (
	// ErrInvalidPolicy: the policy is malformed or incomplete.
	ErrInvalidPolicy = errors.New("invalid policy")
	// ErrTrustMaterial: the trusted root or public key is missing or unreadable.
	ErrTrustMaterial = errors.New("trust material")
)
