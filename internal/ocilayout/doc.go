// Package ocilayout checks an OCI image layout directory that untrusted code wrote
// (a build step, any tool) and copies what it checked into a fresh layout.
//
// [Open] reads oci-layout and index.json, which must name exactly one image (a
// manifest or an index), and follows every descriptor from it: each blob must be a
// regular file at blobs/sha256/<hex> inside the directory, of the declared size,
// with that sha256; manifests and indexes must parse and carry an OCI or Docker v2
// media type. Symlinks, links out of the directory, non-regular files, absurd sizes
// and deep nesting are refused with [ErrInvalidLayout]. [Layout.WriteTo] copies the
// referenced blobs, hashing them again, and writes a new index.json naming only the
// checked image.
package ocilayout
