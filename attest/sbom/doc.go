// Package sbom turns the description of a finished build (attest.Build) into a
// software bill of materials: an in-toto Statement over the build's subjects (the
// provenance's subjects, exactly) whose predicate is a CycloneDX 1.6 or an SPDX 2.3
// JSON document, written with each format's own Go library.
//
// The SBOM is complete by construction: it lists what the hermetic build resolved
// (the source commit, the builder image as a build tool, every declared input, the
// modules the source vendors) and what each subject holds (the Go modules read from
// a binary's build info, which the builder has checked against the inputs). Nothing
// is guessed from the artifacts afterwards.
//
// Statement makes the statement; Components reads one back as rows, for either
// format (slsabox sbom show). attest/verify does not import this package.
package sbom
