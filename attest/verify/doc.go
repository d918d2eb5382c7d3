// Package verify checks a Sigstore bundle holding SLSA v1 provenance against trust
// material and a policy, offline.
//
// Trust and policy are split, as in sigstore-go: a Verifier holds what is trusted (a
// trusted_root.json with the log keys and certificate authorities, a public key) and
// is built once with New; a Policy holds what one artifact must satisfy (its digest,
// the builder id, the source and, for a keyless bundle, the certificate identity).
// Verifier.Verify returns a Report with one Check per check, in a fixed order, and
// the verified statement; it never prints and needs no context, since nothing leaves
// the machine.
//
// Verifier.VerifyArtifact answers a narrower question for any Sigstore bundle (v0.1
// to v0.3, a DSSE in-toto statement of any predicate or a message signature, Rekor v1
// or v2, RFC 3161 timestamps): does it sign this Artifact (ArtifactFile,
// ArtifactDigest), by the trusted key or a given Identity, logged? It checks no
// predicate; Sigstore's conformance suite runs through it (docs/conformance.md).
//
// Strict by default: the subject digest, the builder id, the source URI and a
// transparency log proof are required. Every opt-out says so in its name
// (WithoutTransparencyLogUnsafe, Policy.AllowAnyBuilderUnsafe,
// Policy.AllowAnySourceUnsafe) and adds a warning to the report.
//
// Other builders' provenance verifies too: GitHub's workflow build types (artifact
// attestations, npm provenance), slsa-github-generator's container-based and
// delegator builders, and any build type whose source is a git+ resolved dependency;
// the report names where the source was read. Subjects may be named by sha256, sha512
// or sha384: ArtifactDigest hashes a file in the algorithm a bundle's subjects use,
// ParseDigest reads ALG:HEX.
//
// Trust material: WithPublicKey for key-signed bundles, and WithTrustedRootFile or
// WithTrustedRoot for a log's trusted_root.json (whose Fulcio CAs vouch for keyless
// bundles), or WithPublicGoodTrustedRoot for the pinned copy of Sigstore's
// public-good root embedded in this package (PublicGoodRootModule says where from).
//
// A verification can be summed up in a signed Verification Summary Attestation:
// NewVSA builds it from a Summary (Report.BuildLevel gives the level a verification
// supports) and SignVSA signs it as the DSSE envelope slsa-verifier verify-vsa reads.
//
// Failures wrap one sentinel per class, the class first, in two families:
// ErrNotVerified (ErrSignature, ErrNotLogged, ErrDigestMismatch, ErrUntrustedBuilder,
// ErrPolicy, ErrIdentity: the artifact is bad) and ErrConfiguration (ErrInvalidPolicy,
// ErrTrustMaterial: the verifier or the policy is wrong, nothing was learnt).
package verify
