// Package spec holds the identifiers that slsabox's attestations carry and that both
// the signing side (attest) and the verifying side (attest/verify) need: the build
// type, predicate types and media types. It imports nothing, so a consumer who only
// verifies links nothing of the builder through it.
package spec

const (
	// BuildType is the URI of slsabox's build type; docs/buildtype.md describes its
	// parameters and how to rebuild from them.
	BuildType = "https://slsabox.dev/buildtypes/hermetic/v1"

	// PredicateSLSAProvenance is SLSA provenance v1's predicate type.
	PredicateSLSAProvenance = "https://slsa.dev/provenance/v1"

	// PredicateVSA is the predicate type of a SLSA Verification Summary Attestation.
	PredicateVSA = "https://slsa.dev/verification_summary/v1"

	// InTotoPayloadType is the DSSE payload type of an in-toto statement.
	InTotoPayloadType = "application/vnd.in-toto+json"

	// BundleMediaType is the Sigstore bundle version slsabox writes and verifies.
	BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"
)

// The predicate types of an SBOM statement, as cosign's --type cyclonedx and
// --type spdxjson name them.
const (
	// PredicateCycloneDX is a CycloneDX JSON document's predicate type.
	PredicateCycloneDX = "https://cyclonedx.org/bom"
	// PredicateSPDX is an SPDX JSON document's predicate type.
	PredicateSPDX = "https://spdx.dev/Document"
)
