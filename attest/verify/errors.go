package verify

import (
	"errors"

	"github.com/slsabox/slsabox/internal/errclass"
)

// The two families of Verify's errors, so that a caller tells "the artifact is bad"
// from "the verifier or policy is wrong" with one errors.Is each (the CLI's exit
// codes 1 and 2). Every class below belongs to exactly one of them.
var (
	// ErrNotVerified is the family of verification failures: the bundle or its
	// provenance is not what the trust material and the policy want. Do not use the
	// artifact.
	ErrNotVerified = errors.New("not verified")
	// ErrConfiguration is the family of configuration errors (ErrInvalidPolicy,
	// ErrTrustMaterial, ErrInvalidVSA): the trust material or the policy is missing,
	// malformed or conflicting, so nothing was learnt about the artifact. Fix the
	// options or the policy and verify again.
	ErrConfiguration = errors.New("verifier configuration")
)

// Failure classes of Verify, each in the ErrNotVerified family.
var (
	// ErrSignature: the bundle is malformed or its signature does not verify with the trust material.
	ErrSignature = errclass.New("signature not verified", ErrNotVerified)
	// ErrNotLogged: the bundle has no valid transparency log proof for the trusted log.
	ErrNotLogged = errclass.New("no valid transparency log entry", ErrNotVerified)
	// ErrDigestMismatch: no subject of the provenance has the artifact's digest.
	ErrDigestMismatch = errclass.New("artifact digest not in the provenance", ErrNotVerified)
	// ErrUntrustedBuilder: the provenance names another builder.
	ErrUntrustedBuilder = errclass.New("untrusted builder", ErrNotVerified)
	// ErrPolicy: the provenance does not meet another expectation of the policy.
	ErrPolicy = errclass.New("policy not met", ErrNotVerified)
	// ErrIdentity: the bundle's certificate was issued to another identity than the
	// policy's, or says the build ran elsewhere than the provenance claims.
	ErrIdentity = errclass.New("certificate identity not trusted", ErrNotVerified)
)

// Configuration errors, each in the ErrConfiguration family.
var (
	// ErrInvalidPolicy: the policy is malformed, incomplete or conflicting, or lacks
	// what the bundle needs (a keyless bundle needs a certificate identity).
	ErrInvalidPolicy = errclass.New("invalid policy", ErrConfiguration)
	// ErrTrustMaterial: the trusted root or public key is missing, unreadable or
	// conflicting.
	ErrTrustMaterial = errclass.New("trust material", ErrConfiguration)
)
