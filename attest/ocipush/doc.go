// Package ocipush uploads the container images of a build to a registry and
// attaches the build's signed provenance to each as an OCI 1.1 referrer, in the
// shape `cosign attest --new-bundle-format` writes and `cosign verify-attestation`
// reads: an image manifest with artifactType
// application/vnd.dev.sigstore.bundle.v0.3+json, the OCI empty config, one layer
// holding the Sigstore bundle, and the image's manifest (or index) as subject.
//
// [Push] does it all for the images of one build: each image is checked against
// its OCI layout and the bundle's subjects, uploaded by digest, then the referrer is
// put. go-containerregistry's remote package speaks to the registry: it uses the
// referrers API where the registry serves it and keeps the referrers tag schema
// (a sha256-<hex> tag holding an index) up to date where it does not.
//
// Credentials come from the Docker config (authn.DefaultKeychain) and, for
// ghcr.io, from GITHUB_TOKEN. Plain HTTP is spoken only to registries on loopback.
// Every registry failure is an [ErrUnavailable]: the caller keeps the signed
// bundle and pushes again later.
package ocipush
