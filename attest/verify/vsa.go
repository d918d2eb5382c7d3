package verify

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	vsa "github.com/in-toto/attestation/go/predicates/vsa/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/slsabox/slsabox/attest/spec"
	"github.com/slsabox/slsabox/internal/errclass"
)

// Verification results a VSA records.
const (
	VSAPassed = "PASSED"
	VSAFailed = "FAILED"
)

// ErrInvalidVSA: a Summary is incomplete or malformed; nothing was signed. It is an
// ErrConfiguration: the caller described the summary wrongly.
var ErrInvalidVSA = errclass.New("invalid verification summary", ErrConfiguration)

// Summary is what a VSA says: who verified which artifacts against which policy and
// evidence, when, and with what result.
type Summary struct {
	// VerifierID identifies the verifier (a URI). Required.
	VerifierID string
	// ResourceURI names where the artifacts come from, e.g. a download URL or a
	// package URL. Required.
	ResourceURI string
	// Subjects are the artifacts verified, each with at least one digest. Required.
	Subjects []*intoto.ResourceDescriptor
	// PolicyURI and PolicyDigest identify the policy applied. PolicyURI is required.
	PolicyURI    string
	PolicyDigest map[string]string
	// InputAttestations are the attestations the verification relied on (URI and digest).
	InputAttestations []*intoto.ResourceDescriptor
	// Passed is the result: PASSED only when every subject verified.
	Passed bool
	// VerifiedLevels are the levels the evidence supports when Passed, e.g.
	// "SLSA_BUILD_LEVEL_2" or a custom "SLSA_BUILD_REPRODUCED". At most one level per
	// SLSA track. Ignored for a failure, which records "FAILED".
	VerifiedLevels []string
	// OptOuts are the unsafe opt-outs the verification used (Report.OptOuts). A
	// PASSED VSA records each as the level optOutLevel(name) and claims at most
	// SLSA_BUILD_LEVEL_1.
	OptOuts []string
	// TimeVerified defaults to now.
	TimeVerified time.Time
	// SlsaVersion defaults to "1.0", the SLSA version of the levels.
	SlsaVersion string
}

var slsaLevel = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^SLSA_([A-Z]+)_LEVEL_([0-4])$`) })

// NewVSA builds the VSA statement (predicate type spec.PredicateVSA) of a Summary.
func NewVSA(s Summary) (*intoto.Statement, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	if s.TimeVerified.IsZero() {
		s.TimeVerified = time.Now()
	}
	if s.SlsaVersion == "" {
		s.SlsaVersion = "1.0"
	}
	pred := &vsa.VerificationSummary{
		Verifier:           &vsa.VerificationSummary_Verifier{Id: s.VerifierID},
		TimeVerified:       timestamppb.New(s.TimeVerified.UTC().Truncate(time.Second)),
		ResourceUri:        s.ResourceURI,
		Policy:             &vsa.VerificationSummary_Policy{Uri: s.PolicyURI, Digest: s.PolicyDigest},
		VerificationResult: VSAFailed,
		VerifiedLevels:     []string{VSAFailed},
		SlsaVersion:        s.SlsaVersion,
	}
	if s.Passed {
		pred.VerificationResult = VSAPassed
		pred.VerifiedLevels = slices.Clone(s.VerifiedLevels)
		for _, o := range s.OptOuts {
			pred.VerifiedLevels = append(pred.VerifiedLevels, optOutLevel(o))
		}
	}
	for _, a := range s.InputAttestations {
		pred.InputAttestations = append(pred.InputAttestations,
			&vsa.VerificationSummary_InputAttestation{Uri: a.GetUri(), Digest: a.GetDigest()})
	}
	raw, err := protojson.Marshal(pred)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidVSA, err)
	}
	predStruct := &structpb.Struct{}
	if err := protojson.Unmarshal(raw, predStruct); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidVSA, err)
	}
	st := &intoto.Statement{
		Type:          intoto.StatementTypeUri,
		Subject:       s.Subjects,
		PredicateType: spec.PredicateVSA,
		Predicate:     predStruct,
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidVSA, err)
	}
	return st, nil
}

func (s Summary) validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidVSA}, a...)...)
	}
	switch {
	case !isURI(s.VerifierID):
		return bad("verifier id %q is not a URI: give one that names you as the verifier, e.g. https://example.org/verifier", s.VerifierID)
	case !isURI(s.ResourceURI):
		return bad("resource uri %q is not a URI: give where the artifact comes from, e.g. https://example.org/releases/hello", s.ResourceURI)
	case s.PolicyURI == "":
		return bad("no policy uri")
	case len(s.Subjects) == 0:
		return bad("no subjects")
	}
	if s.Passed {
		if len(s.VerifiedLevels) == 0 {
			return bad("a passed verification needs a verified level, e.g. SLSA_BUILD_LEVEL_1")
		}
		tracks := map[string]bool{}
		for _, l := range s.VerifiedLevels {
			if m := slsaLevel().FindStringSubmatch(l); m != nil && m[1] == "BUILD" && m[2] > "1" && len(s.OptOuts) > 0 {
				return bad("%s with the unsafe opt-out %s: a verification that waives a check claims SLSA_BUILD_LEVEL_1 at most", l, strings.Join(s.OptOuts, ", "))
			}
			if l == VSAFailed {
				return bad("a passed verification cannot record the level FAILED")
			}
			if m := slsaLevel().FindStringSubmatch(l); m != nil {
				if tracks[m[1]] {
					return bad("two levels of the SLSA %s track: give only the highest", m[1])
				}
				tracks[m[1]] = true
			} else if strings.HasPrefix(l, "SLSA_") {
				// The spec keeps the SLSA_ prefix for its own levels, and slsa-verifier
				// rejects a whole VSA holding any other SLSA_ value.
				return bad("level %q is not SLSA_<TRACK>_LEVEL_<N>: name a custom level without the SLSA_ prefix, e.g. SLSABOX_%s", l, strings.TrimPrefix(l, "SLSA_"))
			} else if l == "" {
				return bad("an empty level")
			}
		}
	}
	return nil
}

// optOutLevel is how a PASSED VSA records an unsafe opt-out among its verified
// levels, e.g. SLSABOX_OPT_OUT_ALLOW_DIRTY for AllowDirtyUnsafe: a consumer that
// requires a level sees it, and one that reads the levels sees what was waived.
func optOutLevel(name string) string {
	name = strings.TrimSuffix(name, "Unsafe")
	var b strings.Builder
	for i, r := range name {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return "SLSABOX_OPT_OUT_" + strings.ToUpper(b.String())
}

func isURI(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme != "" && (u.Host != "" || u.Opaque != "" || u.Path != "")
}
