package attest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"

	intoto "github.com/in-toto/attestation/go/v1"

	"github.com/slsabox/slsabox/attest/spec"
)

// Envelope is a DSSE envelope as JSON, the form of a VSA file: what
// `slsa-verifier verify-vsa --attestation-path` reads.
type Envelope struct {
	PayloadType string              `json:"payloadType"`
	Payload     string              `json:"payload"`
	Signatures  []EnvelopeSignature `json:"signatures"`
}

// EnvelopeSignature is one DSSE signature; slsabox leaves KeyID empty.
type EnvelopeSignature struct {
	KeyID string `json:"keyid"`
	Sig   string `json:"sig"`
}

// SignVSA signs a verification summary (verify.NewVSA makes one) as a DSSE envelope:
// payload type application/vnd.in-toto+json, one signature, empty keyid. It returns
// the envelope's JSON. Nothing is logged: a VSA goes to the consumer that asked for it.
// Signing lives here, not in verify, so that a verifier links no signing code.
func SignVSA(ctx context.Context, st *intoto.Statement, signer Signer) ([]byte, error) {
	if st.GetPredicateType() != spec.PredicateVSA {
		return nil, fmt.Errorf("%w: predicate type %q is not %s: SignVSA signs verification summaries only", ErrInvalidProvenance, st.GetPredicateType(), spec.PredicateVSA)
	}
	b, err := Sign(ctx, st, signer)
	if err != nil {
		return nil, err
	}
	env := b.GetDsseEnvelope()
	out := Envelope{PayloadType: env.GetPayloadType(), Payload: base64.StdEncoding.EncodeToString(env.GetPayload())}
	for _, s := range env.GetSignatures() {
		out.Signatures = append(out.Signatures, EnvelopeSignature{KeyID: s.GetKeyid(), Sig: base64.StdEncoding.EncodeToString(s.GetSig())})
	}
	data, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("%w: encoding the envelope: %w", ErrSign, err)
	}
	return append(data, '\n'), nil
}
