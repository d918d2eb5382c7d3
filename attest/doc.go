// Package attest turns the description of a build (Build) into signed SLSA v1 provenance: an in-toto
// Statement signed as a DSSE envelope and packed in a Sigstore bundle.
//
// Entry points: Provenance builds the Statement; LoadSigner reads a key (PEM file or
// KMS URI); Sign makes the bundle; WriteBundle writes it atomically. ReadProvenance
// reads the recorded build back out of a (verified) statement, for slsabox rebuild.
package attest
