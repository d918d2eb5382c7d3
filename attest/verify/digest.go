package verify

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/bundle"

	"github.com/slsabox/slsabox/internal/filehash"
)

// digestAlgorithms are the algorithms SLSA subjects are named by in practice, with
// their hex lengths, in the order an artifact's digest is chosen: sha256 (most
// builders), sha512 (npm provenance), sha384.
var digestAlgorithms = []digestAlgorithm{{"sha256", 64}, {"sha512", 128}, {"sha384", 96}}

type digestAlgorithm struct {
	name string
	hex  int // the digest's length in hex digits
}

func knownAlgorithm(name string) bool {
	return slices.ContainsFunc(digestAlgorithms, func(a digestAlgorithm) bool { return a.name == name })
}

// ParseDigest splits an artifact digest as a Policy takes it, ALG:HEX (sha256,
// sha384 or sha512) or a bare HEX (a sha256), into the algorithm and lowercase hex.
func ParseDigest(d string) (alg, hexDigest string, err error) {
	if d == "" {
		return "", "", fmt.Errorf("%w: no artifact digest", ErrInvalidPolicy)
	}
	alg, h, ok := strings.Cut(d, ":")
	if !ok {
		alg, h = "sha256", d
	}
	alg, h = strings.ToLower(alg), strings.ToLower(h)
	for _, a := range digestAlgorithms {
		if a.name != alg {
			continue
		}
		if _, err := hex.DecodeString(h); err != nil || len(h) != a.hex {
			if !ok {
				return "", "", fmt.Errorf("%w: digest %q is not a sha256 (64 hex digits): give another algorithm's digest as ALG:HEX, e.g. sha512:HEX", ErrInvalidPolicy, d)
			}
			return "", "", fmt.Errorf("%w: digest %q is not a %s (%d hex digits)", ErrInvalidPolicy, d, alg, a.hex)
		}
		return alg, h, nil
	}
	return "", "", fmt.Errorf("%w: digest %q: algorithm %q is not one SLSA subjects use: give sha256:HEX, sha384:HEX or sha512:HEX", ErrInvalidPolicy, d, alg)
}

// normalizeDigest returns a digest in the form Policy.Digest and Report.Digest hold:
// a sha256 as bare lowercase hex (as before other algorithms were taken), any other
// algorithm as ALG:HEX.
func normalizeDigest(d string) (string, error) {
	alg, h, err := ParseDigest(d)
	if err != nil {
		return "", err
	}
	return formatDigest(alg, h), nil
}

func formatDigest(alg, h string) string {
	if alg == "sha256" {
		return h
	}
	return alg + ":" + h
}

// checkSubject is Verify's subject check: the policy's digest among the subjects.
func checkSubject(st *statement, digest string) result {
	alg, h, err := ParseDigest(digest)
	if err != nil {
		return fail(ErrDigestMismatch, err)
	}
	d, _ := hex.DecodeString(h) // ParseDigest checked it
	return subjectHasDigest(st, Artifact{digests: map[string][]byte{alg: d}})
}

// FileDigest returns the sha256 hex of a file, the digest a Policy wants of an
// artifact whose subject is named by sha256 (FileDigestFor picks the algorithm).
func FileDigest(path string) (string, error) { return filehash.SHA256(path) }

// FileDigestFor returns the digest of the file at path that a Policy for bundle b
// wants: in the algorithm the bundle's subjects are named by (sha256, sha512 for npm
// packages, or sha384), reading the file once. The subjects are read before the
// signature is verified, only to choose which digests to compute; Verify checks the
// digest against the verified statement. Of several algorithms, the one whose digest
// names a subject is returned, else sha256's (or the first the subjects use).
func FileDigestFor(path string, b *bundle.Bundle) (string, error) {
	var st struct {
		Subject []struct {
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
	}
	// An unreadable payload leaves no subjects: the artifact's sha256 is then
	// computed, and Verify reports what is wrong with the bundle.
	_ = json.Unmarshal(b.GetDsseEnvelope().GetPayload(), &st)
	var algs []string
	for _, a := range digestAlgorithms {
		for _, s := range st.Subject {
			if _, ok := s.Digest[a.name]; ok {
				algs = append(algs, a.name)
				break
			}
		}
	}
	if len(algs) == 0 {
		algs = []string{"sha256"}
	}
	if len(algs) == 1 && algs[0] == "sha256" {
		return filehash.SHA256(path) // the common case, as fast as ever
	}
	sums, err := filehash.Digests(path, algs...)
	if err != nil {
		return "", err
	}
	for _, s := range st.Subject {
		for _, a := range algs {
			if strings.EqualFold(s.Digest[a], sums[a]) {
				return formatDigest(a, sums[a]), nil
			}
		}
	}
	return formatDigest(algs[0], sums[algs[0]]), nil
}
