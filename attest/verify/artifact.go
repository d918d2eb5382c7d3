package verify

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	intoto "github.com/in-toto/attestation/go/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/slsabox/slsabox/internal/filehash"
)

// CheckMessageDigest is the check of a message-signature bundle (a signature over an
// artifact's digest, logged as a hashedrekord) that the signed digest is the
// artifact's; a DSSE bundle has CheckSubjectDigest in its place.
const CheckMessageDigest = "message digest"

// Artifact is what VerifyArtifact shows a bundle signs: a file, or only its digest
// when the bytes are elsewhere (a registry, another machine). Build one with
// ArtifactFile or ArtifactDigest.
type Artifact struct {
	path    string            // a file, hashed again when a bundle wants another algorithm
	digests map[string][]byte // by algorithm name: sha256, sha384, sha512
}

// ArtifactFile is the file at path. Its sha256 is computed now (the Report's Digest);
// another digest a bundle names, and the bytes an Ed25519 message signature signs,
// are read when that bundle is verified: the file must not change in between (a
// file a caller does not control should be copied first).
func ArtifactFile(path string) (Artifact, error) {
	a := Artifact{path: path, digests: map[string][]byte{}}
	if _, err := a.digest("sha256"); err != nil {
		return Artifact{}, fmt.Errorf("%w: artifact: %w", ErrInvalidPolicy, err)
	}
	return a, nil
}

// ArtifactDigest is an artifact known by its digest, "ALG:HEX" with ALG one of
// sha256, sha384 and sha512. A bundle signed over the artifact with Ed25519 (not
// prehashed) cannot be checked against a digest: give the file.
func ArtifactDigest(digest string) (Artifact, error) {
	if !strings.Contains(digest, ":") {
		return Artifact{}, fmt.Errorf("%w: artifact digest %q: give ALG:HEX, e.g. sha256:HEX (or sha384:, sha512:)", ErrInvalidPolicy, digest)
	}
	alg, h, err := ParseDigest(digest)
	if err != nil {
		return Artifact{}, err
	}
	d, _ := hex.DecodeString(h) // ParseDigest checked it
	return Artifact{digests: map[string][]byte{alg: d}}, nil
}

// digest returns the artifact's digest by alg (sha256, sha384 or sha512), hashing the file
// when it has not been yet.
func (a Artifact) digest(alg string) ([]byte, error) {
	if d, ok := a.digests[alg]; ok {
		return d, nil
	}
	if a.path == "" || !knownAlgorithm(alg) {
		var have []string
		for k := range a.digests {
			have = append(have, k)
		}
		return nil, fmt.Errorf("the bundle signs a %s digest and the artifact is known only by its %s digest: give the artifact itself or its %s digest", alg, strings.Join(have, ", "), alg)
	}
	sums, err := filehash.Digests(a.path, alg)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", a.path, err)
	}
	d, err := hex.DecodeString(sums[alg])
	if err != nil {
		return nil, err
	}
	a.digests[alg] = d
	return d, nil
}

// VerifyArtifact checks that the bundle signs the artifact, by the key the Verifier
// trusts or, for a keyless bundle, by id (required then, and refused for a
// key-signed bundle), and, unless the Verifier opted out, that the signing was
// logged. It reads any Sigstore bundle (v0.1 to v0.3): a DSSE envelope holding an
// in-toto statement of any predicate, whose subjects must include the artifact's
// digest, or a message signature (what cosign sign-blob writes), whose signed digest
// must be the artifact's. It checks no predicate: Verify does that for provenance.
//
// The report lists CheckSignature, CheckTlog, CheckSubjectDigest (DSSE) or
// CheckMessageDigest, and CheckCertIdentity for a keyless bundle; its Statement is
// the DSSE envelope's. Errors are classed as Verify's are.
func (v *Verifier) VerifyArtifact(b *bundle.Bundle, a Artifact, id *Identity) (*Report, error) {
	r := &Report{Warnings: append([]string(nil), v.warnings...)}
	if len(a.digests) == 0 {
		return r, fmt.Errorf("%w: no artifact: give one built with ArtifactFile or ArtifactDigest", ErrInvalidPolicy)
	}
	for _, alg := range digestAlgorithms {
		if d, ok := a.digests[alg.name]; ok {
			r.Digest = formatDigest(alg.name, hex.EncodeToString(d))
			break
		}
	}
	digestCheck := CheckMessageDigest
	if b != nil && b.GetDsseEnvelope() != nil {
		digestCheck = CheckSubjectDigest
	}
	order := []string{CheckSignature, CheckTlog, digestCheck, CheckCertIdentity}
	var certID *sgverify.CertificateIdentity
	if id != nil {
		var err error
		if certID, err = id.matcher(); err != nil {
			return r, err
		}
	}
	if !v.logged {
		r.OptOuts = append(r.OptOuts, OptOutNoTlog)
	}
	if refused, err := v.admitKeyless(b, certID, r, "bundle"); refused != nil {
		return r.finishIn(order, map[string]result{CheckSignature: *refused})
	} else if err != nil {
		return r, err
	}

	results := map[string]result{}
	st, detail, err := v.verifyArtifactSignature(b, a, certID != nil)
	if err != nil {
		results[CheckSignature] = fail(ErrSignature, err)
		if certID != nil {
			results[CheckCertIdentity] = result{skipped: true, detail: "not run: the signature did not verify"}
		}
		return r.finishIn(order, results)
	}
	r.Statement = st
	results[CheckSignature] = pass(detail)
	if certID != nil {
		results[CheckCertIdentity], _ = certIdentity(b, id, certID)
	}
	if v.logged {
		results[CheckTlog] = v.checkTlog(b)
	} else {
		results[CheckTlog] = skip("not required (unsafe opt-out)")
	}
	if st != nil {
		results[CheckSubjectDigest] = subjectHasDigest(st, a)
	} else {
		results[CheckMessageDigest] = messageHasDigest(b, a)
	}
	return r.finishIn(order, results)
}

// admitKeyless applies the rule every check of a bundle starts with: a keyless bundle
// (one carrying a Fulcio certificate) is checked against a certificate identity
// (certID), never with a trusted key alone. It returns the failed signature check
// when the Verifier trusts a key, an ErrInvalidPolicy error when no identity is given,
// or neither, having added the certificate warnings to r for a keyless bundle. what
// names the bundle in the messages.
func (v *Verifier) admitKeyless(b *bundle.Bundle, certID *sgverify.CertificateIdentity, r *Report, what string) (*result, error) {
	keyless := carriesCertificate(b)
	switch {
	case keyless && certID == nil && (v.sig != nil || v.cert == nil):
		res := failf(ErrSignature, "the %s is signed keyless (it carries a Fulcio certificate), not with the trusted key: verify it by certificate identity and OIDC issuer", what)
		return &res, nil
	case keyless && certID == nil:
		return nil, fmt.Errorf("%w: the %s is signed keyless (a Fulcio certificate names who signed): give the certificate identity and OIDC issuer you trust", ErrInvalidPolicy, what)
	case keyless:
		r.Warnings = append(r.Warnings, v.certWarn...)
	}
	return nil, nil
}

// verifyArtifactSignature checks the bundle's signature (and a keyless bundle's
// certificate at its signing time) and returns the DSSE envelope's statement, nil
// for a message signature. A message signature is checked over the digest it claims
// (messageHasDigest compares that with the artifact's), or over the file itself for
// Ed25519, which signs the bytes rather than a digest.
func (v *Verifier) verifyArtifactSignature(b *bundle.Bundle, a Artifact, wantCert bool) (*intoto.Statement, string, error) {
	if b == nil || b.Bundle == nil {
		return nil, "", errors.New("no bundle")
	}
	vc, err := b.VerificationContent()
	if err != nil {
		return nil, "", err
	}
	artifact := sgverify.WithoutArtifactUnsafe()
	what := "DSSE signature"
	if env := b.GetDsseEnvelope(); env != nil {
		if n := len(env.GetSignatures()); n != 1 {
			return nil, "", fmt.Errorf("the envelope has %d signatures, want 1", n)
		}
	} else {
		msg := b.GetMessageSignature()
		alg, ok := hashName(msg.GetMessageDigest().GetAlgorithm())
		if !ok {
			return nil, "", fmt.Errorf("the message digest's algorithm %s is not one of sha256, sha384, sha512", msg.GetMessageDigest().GetAlgorithm())
		}
		what = "message signature"
		artifact = sgverify.WithArtifactDigest(alg, msg.GetMessageDigest().GetDigest())
		if v.signsWithEd25519(vc) {
			if a.path == "" {
				return nil, "", errors.New("the message is signed with Ed25519, which signs the artifact's bytes, not a digest: give the artifact itself")
			}
			f, err := os.Open(a.path)
			if err != nil {
				return nil, "", err
			}
			defer f.Close()
			artifact = sgverify.WithArtifact(f)
		}
	}
	res, by, err := v.signedBy(b, artifact, wantCert)
	if err != nil {
		return nil, "", err
	}
	if b.GetDsseEnvelope() != nil && res.Statement == nil {
		return nil, "", errors.New("the envelope holds no in-toto statement")
	}
	return res.Statement, what + " " + by, nil
}

// signsWithEd25519 says whether the bundle's signing key (its certificate's, or the
// trusted key) is an Ed25519 key.
func (v *Verifier) signsWithEd25519(vc sgverify.VerificationContent) bool {
	if c := vc.Certificate(); c != nil {
		_, ok := c.PublicKey.(ed25519.PublicKey)
		return ok
	}
	if vc.PublicKey() == nil || v.sig == nil {
		return false
	}
	tv, err := v.trusted.PublicKeyVerifier(vc.PublicKey().Hint())
	if err != nil {
		return false
	}
	pk, err := tv.PublicKey()
	_, ok := pk.(ed25519.PublicKey)
	return err == nil && ok
}

// String names the artifact by the digests known of it, ALG:HEX.
func (a Artifact) String() string {
	var known []string
	for _, alg := range digestAlgorithms {
		if d, ok := a.digests[alg.name]; ok {
			known = append(known, fmt.Sprintf("%s:%x", alg.name, d))
		}
	}
	if len(known) == 0 {
		return "the artifact"
	}
	return strings.Join(known, ", ")
}

// subjectHasDigest passes when a subject of the statement has the artifact's digest
// under an algorithm both know.
func subjectHasDigest(st *intoto.Statement, a Artifact) result {
	var names []string
	for _, s := range st.GetSubject() {
		for alg, h := range s.GetDigest() {
			if !knownAlgorithm(alg) {
				continue
			}
			want, err := a.digest(alg)
			if err != nil {
				continue
			}
			if got, err := hex.DecodeString(h); err == nil && bytes.Equal(got, want) {
				return pass(fmt.Sprintf("%s:%x is subject %s", alg, want, quote(s.GetName())))
			}
		}
		names = append(names, quote(s.GetName()))
	}
	return failf(ErrDigestMismatch, "%s is not among the %d subjects (%s)", a, len(names), strings.Join(names, ", "))
}

// messageHasDigest passes when the digest the message signature signs is the artifact's.
func messageHasDigest(b *bundle.Bundle, a Artifact) result {
	md := b.GetMessageSignature().GetMessageDigest()
	alg, _ := hashName(md.GetAlgorithm())
	want, err := a.digest(alg)
	if err != nil {
		return fail(ErrDigestMismatch, err)
	}
	if !bytes.Equal(md.GetDigest(), want) {
		return failf(ErrDigestMismatch, "the bundle signs %s:%x, the artifact is %s:%x", alg, md.GetDigest(), alg, want)
	}
	return pass(fmt.Sprintf("%s:%x", alg, want))
}

func hashName(alg protocommon.HashAlgorithm) (string, bool) {
	switch alg {
	case protocommon.HashAlgorithm_SHA2_256:
		return "sha256", true
	case protocommon.HashAlgorithm_SHA2_384:
		return "sha384", true
	case protocommon.HashAlgorithm_SHA2_512:
		return "sha512", true
	}
	return "", false
}
