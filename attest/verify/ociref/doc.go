// Package ociref finds the Sigstore bundles attached to a container image, in a
// registry or in a local OCI image layout, for the verifier to check.
//
// A bundle is attached as an OCI 1.1 referrer, the shape cosign v3 writes with
// attest --new-bundle-format: an image manifest with artifactType [BundleMediaType],
// the empty config, one layer holding the bundle JSON, and a subject naming the
// image's manifest (or index). [ParseReference] reads oci://REGISTRY/REPO@sha256:HEX
// and oci-layout:DIR@sha256:HEX; [Find] lists the referrers of the digest (the
// registry's referrers API, or the referrers tag schema sha256-HEX where it has
// none; in a layout, the manifests of index.json, as cosign save writes them),
// keeps those of the bundle artifact type, and returns each bundle with where it
// came from, or why it was refused: a referrer whose subject is another digest,
// that is not the expected shape, or whose layer is too large or does not match its
// digest. [CheckLayout] checks that a layout holds the image, every blob matching
// its digest.
//
// Nothing it returns is trusted: the bundles still have to be verified (package
// verify), which also checks that they name the image's digest as a subject. A
// registry is treated as hostile: every size and count is bounded, plain HTTP goes
// only to registries on loopback, and credentials come from
// authn.DefaultKeychain (the Docker config). This package links
// go-containerregistry, which package verify keeps out.
package ociref
