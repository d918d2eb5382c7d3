package verify

import (
	intoto "github.com/in-toto/attestation/go/v1"
)

// Check names, in the order a Report lists them.
const (
	CheckSignature     = "signature"
	CheckTlog          = "transparency log"
	CheckPredicateType = "predicate type"
	CheckSubjectDigest = "subject digest"
	CheckBuilderID     = "builder id"
	CheckBuildType     = "build type"
	CheckSourceURI     = "source uri"
	CheckSourceRef     = "source ref"
	CheckSourceCommit  = "source commit"
	CheckCleanSource   = "committed source"
	CheckBuilderImage  = "builder image"
	CheckHermetic      = "hermetic"
)

var checkOrder = []string{CheckSignature, CheckTlog, CheckPredicateType, CheckSubjectDigest, CheckBuilderID,
	CheckBuildType, CheckSourceURI, CheckSourceRef, CheckSourceCommit, CheckCleanSource, CheckBuilderImage, CheckHermetic}

// Check is the outcome of one check. A skipped check (nothing required, or not run
// because the signature failed) has Skipped set; it is OK only when nothing was required.
type Check struct {
	Name    string `json:"name"`
	OK      bool   `json:"ok"`
	Skipped bool   `json:"skipped,omitempty"`
	Detail  string `json:"detail"`
}

// Report is the outcome of verifying one bundle against one policy.
type Report struct {
	// Verified is true when every check passed.
	Verified bool `json:"verified"`
	// Digest is the digest of the artifact checked, as Policy.Digest holds it: a
	// sha256 as bare hex, another algorithm as ALG:HEX (sha512:HEX).
	Digest string `json:"digest"`
	// BuildLevel is the SLSA Build level the verification supports: 0 when not
	// verified, else 1, or Policy.BuilderLevel when the policy trusts the builder more
	// and no opt-out was in effect.
	BuildLevel int `json:"buildLevel"`
	// OptOuts names every unsafe opt-out in effect (the OptOut* names), in a fixed
	// order; with any of them the report claims level 1 at most.
	OptOuts []string `json:"optOuts,omitempty"`
	// Checks lists every check in a fixed order (see the Check* names).
	Checks []Check `json:"checks"`
	// Warnings name every opt-out in effect and anything else a person should know.
	Warnings []string `json:"warnings,omitempty"`
	// Statement is the signed statement, set once the signature verified. Trust what it
	// says only when Verified.
	Statement *intoto.Statement `json:"-"`
}

// Check returns the check named name.
func (r *Report) Check(name string) (Check, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

// Failed returns the checks that did not pass, in order.
func (r *Report) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if !c.OK {
			out = append(out, c)
		}
	}
	return out
}
