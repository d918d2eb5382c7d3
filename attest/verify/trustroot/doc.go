// Package trustroot keeps a Sigstore trusted root current: it refreshes
// trusted_root.json from a TUF repository (Sigstore's public-good one by default)
// with sigstore-go's TUF client, caches it, and falls back to the cached copy, or to
// the copy embedded in attest/verify, when the refresh cannot be made.
//
// Sigstore rotates log keys and adds logs (the Rekor v2 shards since 2025), so a root
// pinned at build time ages; TUF is how Sigstore publishes the change, signed by
// keys that the embedded TUF root.json (the anchor, publicgood_tuf_root.json) names.
//
// Load is the entry point; its Root says where the trusted root came from (Name,
// Source) and, when it is not a fresh refresh, why (Warning: ErrNotRefreshed, or
// ErrRejected when the repository failed TUF verification: a rollback, a bad
// signature, a hash mismatch or expired metadata). Root.Option hands it to
// verify.New. The package is apart from attest/verify so that the verifier stays a
// pure, offline library (no network, no cache on disk, no ctx) and its dependency
// budget is unchanged; linking this package adds two packages to it (this one and
// internal/atomicfile), since sigstore-go's root package already links its TUF client.
package trustroot
