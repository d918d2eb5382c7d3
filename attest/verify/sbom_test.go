package verify

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/slsabox/slsabox/attest"
	"github.com/slsabox/slsabox/attest/spec"
)

// signSBOM signs an SBOM statement over the subjects of testResult's provenance,
// changed by edit.
func signSBOM(t *testing.T, k testKey, edit func(*intoto.Statement)) *bundle.Bundle {
	t.Helper()
	prov, err := attest.Provenance(testResult(), testBuilder)
	if err != nil {
		t.Fatal(err)
	}
	pred, err := structpb.NewStruct(map[string]any{"bomFormat": "CycloneDX", "specVersion": "1.6"})
	if err != nil {
		t.Fatal(err)
	}
	st := &intoto.Statement{Type: intoto.StatementTypeUri, Subject: prov.GetSubject(),
		PredicateType: spec.PredicateCycloneDX, Predicate: pred}
	if edit != nil {
		edit(st)
	}
	b, err := attest.Sign(context.Background(), st, k.signer)
	if err != nil {
		t.Fatal(err)
	}
	data, err := attest.MarshalBundle(b)
	if err != nil {
		t.Fatal(err)
	}
	return parse(t, data)
}

func TestVerifySBOM(t *testing.T) {
	k := newKey(t)
	v := unlogged(t, k.pub)
	prov, err := v.Verify(parse(t, sign(t, k, nil)), goodPolicy())
	if err != nil {
		t.Fatal(err)
	}
	r, err := v.VerifySBOM(signSBOM(t, k, nil), prov, goodPolicy())
	if err != nil || !r.Verified {
		t.Fatalf("a genuine SBOM: %v %+v", err, r.Checks)
	}
	if got := checkNames(r); got != "signature,transparency log,predicate type,same subjects as the provenance" {
		t.Errorf("checks %s", got)
	}
	if r.Statement.GetPredicateType() != spec.PredicateCycloneDX {
		t.Error("no SBOM statement in the report")
	}
	// SPDX, and subjects in another order, are accepted.
	r, err = v.VerifySBOM(signSBOM(t, k, func(st *intoto.Statement) {
		st.PredicateType = spec.PredicateSPDX
		st.Subject = []*intoto.ResourceDescriptor{st.Subject[1], st.Subject[0]}
	}), prov, goodPolicy())
	if err != nil || !r.Verified {
		t.Fatalf("SPDX, subjects reordered: %v %+v", err, r.Checks)
	}

	for _, tc := range []struct {
		name  string
		edit  func(*intoto.Statement)
		want  error
		check string
	}{
		{"a subject fewer", func(st *intoto.Statement) { st.Subject = st.Subject[:1] }, ErrPolicy, "missing from the SBOM"},
		{"another artifact", func(st *intoto.Statement) {
			st.Subject[0] = &intoto.ResourceDescriptor{Name: "hello", Digest: map[string]string{"sha256": strings.Repeat("9", 64)}}
		}, ErrPolicy, "not in the provenance"},
		{"a renamed subject", func(st *intoto.Statement) { st.Subject[0].Name = "hello2" }, ErrPolicy, "hello2"},
		{"a subject twice", func(st *intoto.Statement) { st.Subject = append(st.Subject, st.Subject[0]) }, ErrPolicy, "twice"},
		{"provenance instead", func(st *intoto.Statement) { st.PredicateType = spec.PredicateSLSAProvenance }, ErrPolicy, "want https://cyclonedx.org/bom"},
		{"no predicate", func(st *intoto.Statement) { st.Predicate = nil }, ErrPolicy, "without a predicate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := v.VerifySBOM(signSBOM(t, k, tc.edit), prov, goodPolicy())
			if !errors.Is(err, tc.want) || r.Verified {
				t.Fatalf("%v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.check) {
				t.Errorf("%q does not say %q", err, tc.check)
			}
		})
	}

	// Tampered after signing, or signed by another key: the signature fails.
	b := signSBOM(t, k, nil)
	env := b.GetDsseEnvelope()
	env.Payload = append([]byte(nil), env.Payload...)
	env.Payload[len(env.Payload)/2] ^= 1
	if _, err := v.VerifySBOM(b, prov, goodPolicy()); !errors.Is(err, ErrSignature) {
		t.Errorf("tampered: %v, want ErrSignature", err)
	}
	if _, err := v.VerifySBOM(signSBOM(t, newKey(t), nil), prov, goodPolicy()); !errors.Is(err, ErrSignature) {
		t.Errorf("another key: %v, want ErrSignature", err)
	}
	// Without a verified provenance there is nothing to compare with.
	if _, err := v.VerifySBOM(signSBOM(t, k, nil), &Report{}, goodPolicy()); !errors.Is(err, ErrInvalidPolicy) {
		t.Errorf("unverified provenance: %v, want ErrInvalidPolicy", err)
	}
	// A logged verifier wants the SBOM logged too.
	lv, err := New(WithPublicKey(k.pub), WithTrustedRootFile(filepath.Join(loggedDir, "trusted_root.json")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lv.VerifySBOM(signSBOM(t, k, nil), prov, goodPolicy()); !errors.Is(err, ErrNotLogged) {
		t.Errorf("unlogged SBOM: %v, want ErrNotLogged", err)
	}
}
