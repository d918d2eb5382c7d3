package attest

import (
	"errors"

	"github.com/slsabox/slsabox/internal/errclass"
)

// ErrUnavailable is the family of retryable failures: a service that signing depends
// on (the transparency log, Fulcio, the timestamp authority, the CI's identity token
// endpoint) could not be reached or kept failing. Nothing is wrong with the build or
// its inputs, and trying again later may help. The classes below wrap it, the way
// tessera groups its retryable errors under ErrPushback, so a caller checks one
// sentinel: errors.Is(err, attest.ErrUnavailable).
var ErrUnavailable = errors.New("service unavailable")

// Retryable failures, each in the ErrUnavailable family.
var (
	// ErrLogUnavailable: the log could not be reached or kept failing; the signed bundle
	// is kept, and slsabox upload logs it later.
	ErrLogUnavailable = errclass.New("transparency log unavailable", ErrUnavailable)
	// ErrCertificateUnavailable: Fulcio could not be reached or failed (network, 5xx).
	ErrCertificateUnavailable = errclass.New("fulcio unavailable", ErrUnavailable)
	// ErrTimestampUnavailable: the timestamp authority could not be reached or gave no
	// timestamp.
	ErrTimestampUnavailable = errclass.New("timestamp authority unavailable", ErrUnavailable)
	// ErrIdentityTokenUnavailable: the CI's token endpoint could not be reached or failed
	// (network, 5xx). It is an ErrIdentityToken too.
	ErrIdentityTokenUnavailable = errclass.New("identity token: the token endpoint is unavailable", ErrIdentityToken, ErrUnavailable)
)

// Failures that trying again does not cure.
var (
	// ErrInvalidProvenance: the build description cannot be turned into complete
	// provenance, or a statement is not slsabox provenance.
	ErrInvalidProvenance = errors.New("invalid provenance")
	// ErrSign: the statement could not be signed or the bundle not made.
	ErrSign = errors.New("signing")
	// ErrKey: the signing key is missing, unreadable or unsupported.
	ErrKey = errors.New("signing key")
	// ErrPassphrase: an encrypted key's passphrase is missing or wrong. It is an ErrKey.
	ErrPassphrase = errclass.New("signing key passphrase", ErrKey)
	// ErrWrongKey: the bundle was not signed by the key given. It is an ErrKey.
	ErrWrongKey = errclass.New("signing key: not the key that signed the bundle", ErrKey)
	// ErrIdentityToken: no OIDC identity token could be had, or it is not usable.
	ErrIdentityToken = errors.New("identity token")
	// ErrCertificateRefused: Fulcio answered, and refused to issue a certificate (a 4xx
	// answer: the token is expired, has the wrong audience, or its issuer is not trusted).
	ErrCertificateRefused = errors.New("fulcio refused the certificate")
	// ErrLogRejected: the log refused the entry (a 4xx answer); retrying will not help.
	ErrLogRejected = errors.New("transparency log rejected the entry")
	// ErrLogConflict: the log holds this very signature already (an earlier attempt got
	// through after the client gave up). A new signature over the same statement logs.
	// It is an ErrLogRejected.
	ErrLogConflict = errclass.New("transparency log rejected the entry: the signature is logged already", ErrLogRejected)
)
