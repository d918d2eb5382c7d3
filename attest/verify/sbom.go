package verify

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/slsabox/slsabox/attest/spec"
)

// CheckSBOMSubjects is the SBOM check that its subjects are the provenance's.
const CheckSBOMSubjects = "same subjects as the provenance"

// sbomCheckOrder lists an SBOM report's checks.
var sbomCheckOrder = []string{CheckSignature, CheckTlog, CheckPredicateType, CheckSBOMSubjects, CheckCertIdentity, CheckCertSource}

// VerifySBOM checks a bundle holding an SBOM (an in-toto statement of predicate
// type spec.PredicateCycloneDX or spec.PredicateSPDX) against the provenance it
// accompanies: prov must be the Report of Verify on that provenance, verified. The
// SBOM must be signed by the trust material as the provenance is (keyless: by an
// identity the policy's CertificateIdentity admits, whose certificate names the
// provenance's source), logged unless the Verifier opted out, and its subjects must
// be exactly the provenance's, by name and digest: an SBOM describes the artifacts
// the provenance vouches for, no more and no fewer.
//
// The report lists CheckSignature, CheckTlog, CheckPredicateType,
// CheckSBOMSubjects, and for a keyless bundle CheckCertIdentity and CheckCertSource;
// its Statement is the SBOM's. The SBOM document itself (the predicate) is not
// interpreted here. Errors are classed as Verify's are.
func (v *Verifier) VerifySBOM(b *bundle.Bundle, prov *Report, p Policy) (*Report, error) {
	r := &Report{Warnings: append([]string(nil), v.warnings...)}
	if prov == nil || !prov.Verified || prov.Statement == nil {
		return r, fmt.Errorf("%w: an SBOM is checked against its provenance, and the provenance did not verify", ErrInvalidPolicy)
	}
	r.Digest = prov.Digest
	id := p.CertificateIdentity
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
	if refused, err := v.admitKeyless(b, certID, r, "SBOM bundle"); refused != nil {
		return r.finishIn(sbomCheckOrder, map[string]result{CheckSignature: *refused})
	} else if err != nil {
		return r, err
	}

	results := map[string]result{}
	st, detail, err := v.verifySignature(b, certID != nil)
	if err != nil {
		results[CheckSignature] = fail(ErrSignature, err)
		if certID != nil {
			notRun := result{skipped: true, detail: "not run: the signature did not verify"}
			results[CheckCertIdentity], results[CheckCertSource] = notRun, notRun
		}
		return r.finishIn(sbomCheckOrder, results)
	}
	r.Statement = st
	results[CheckSignature] = pass(detail)
	if certID != nil {
		res, sum := certIdentity(b, id, certID)
		results[CheckCertIdentity] = res
		if sum == nil {
			results[CheckCertSource] = res
		} else {
			// The SBOM's certificate must name the provenance's source: the same
			// repository and commit built both.
			results[CheckCertSource] = crossCheck(sum, prov.Statement)
		}
	}
	if v.logged {
		results[CheckTlog] = v.checkTlog(b)
	} else {
		results[CheckTlog] = skip("not required (unsafe opt-out)")
	}
	switch pt := st.GetPredicateType(); pt {
	case spec.PredicateCycloneDX, spec.PredicateSPDX:
		if st.GetPredicate() == nil {
			results[CheckPredicateType] = failf(ErrPolicy, "%s statement without a predicate: no SBOM in it", pt)
		} else {
			results[CheckPredicateType] = pass(pt)
		}
	default:
		results[CheckPredicateType] = failf(ErrPolicy, "want %s or %s, got %s", spec.PredicateCycloneDX, spec.PredicateSPDX, quote(pt))
	}
	results[CheckSBOMSubjects] = sameSubjects(st, prov.Statement)
	return r.finishIn(sbomCheckOrder, results)
}

// sameSubjects passes when the two statements name the same subjects with the same
// digests (order aside).
func sameSubjects(sbom, prov *intoto.Statement) result {
	key := func(s *intoto.ResourceDescriptor) string {
		d := s.GetDigest()
		var parts []string
		for _, alg := range slices.Sorted(maps.Keys(d)) {
			parts = append(parts, alg+":"+strings.ToLower(d[alg]))
		}
		return s.GetName() + "\x00" + strings.Join(parts, ",")
	}
	set := func(st *intoto.Statement) (map[string]*intoto.ResourceDescriptor, error) {
		m := map[string]*intoto.ResourceDescriptor{}
		for _, s := range st.GetSubject() {
			k := key(s)
			if _, dup := m[k]; dup {
				return nil, fmt.Errorf("subject %s appears twice", quote(s.GetName()))
			}
			m[k] = s
		}
		return m, nil
	}
	want, err := set(prov)
	if err != nil {
		return fail(ErrPolicy, fmt.Errorf("provenance: %w", err))
	}
	got, err := set(sbom)
	if err != nil {
		return fail(ErrPolicy, fmt.Errorf("SBOM: %w", err))
	}
	var missing, extra []string
	for k, s := range want {
		if _, ok := got[k]; !ok {
			missing = append(missing, describeSubject(s))
		}
	}
	for k, s := range got {
		if _, ok := want[k]; !ok {
			extra = append(extra, describeSubject(s))
		}
	}
	if len(missing)+len(extra) == 0 {
		return pass(fmt.Sprintf("%d subjects", len(want)))
	}
	slices.Sort(missing)
	slices.Sort(extra)
	var why []string
	if len(missing) > 0 {
		why = append(why, "missing from the SBOM: "+strings.Join(missing, ", "))
	}
	if len(extra) > 0 {
		why = append(why, "not in the provenance: "+strings.Join(extra, ", "))
	}
	return fail(ErrPolicy, errors.New("the SBOM describes other artifacts than the provenance ("+strings.Join(why, "; ")+")"))
}

func describeSubject(s *intoto.ResourceDescriptor) string {
	d := s.GetDigest()
	for _, alg := range []string{"sha256", "sha512", "sha384"} {
		if h, ok := d[alg]; ok {
			return quote(s.GetName()) + " " + alg + ":" + h
		}
	}
	return quote(s.GetName())
}
