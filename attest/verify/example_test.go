package verify_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	intoto "github.com/in-toto/attestation/go/v1"

	"github.com/slsabox/slsabox/attest"
	"github.com/slsabox/slsabox/attest/verify"
)

func ExampleVerifier_Verify() {
	// A signed bundle, as slsabox build writes it (without a log entry here).
	privPEM, pubPEM, _ := attest.GenerateKey(attest.ECDSAP256, nil)
	priv, _ := attest.ParsePrivateKey(privPEM, nil)
	signer, _ := attest.NewKeySigner(priv)
	digest := strings.Repeat("1", 64)
	img := "sha256:" + strings.Repeat("a", 64)
	st, _ := attest.Provenance(&attest.Build{
		Source:    attest.Source{URI: "git+https://github.com/o/r", Commit: strings.Repeat("c", 40), Ref: "refs/heads/main"},
		Image:     attest.Image{Ref: "golang@" + img, Digest: img},
		Subjects:  []attest.Subject{{Name: "hello", SHA256: digest}},
		Sandbox:   attest.Sandbox{Network: "none"},
		StartedOn: time.Unix(0, 0), FinishedOn: time.Unix(1, 0), LogSHA256: strings.Repeat("f", 64),
	}, "https://example.org/builder")
	b, _ := attest.Sign(context.Background(), st, signer)

	// The consumer's side: trust material once, a policy per artifact.
	v, err := verify.New(verify.WithPublicKey(pubPEM), verify.WithoutTransparencyLogUnsafe())
	if err != nil {
		panic(err)
	}
	report, err := v.Verify(b, verify.Policy{Digest: digest, BuilderID: "https://example.org/builder",
		SourceURI: "git+https://github.com/o/r", RequireHermetic: true})
	fmt.Println("error:", err)
	for _, c := range report.Checks {
		status := "ok"
		if c.Skipped {
			status = "--"
		}
		fmt.Println(status, c.Name)
	}
	fmt.Println(report.Warnings[0][:31])
	// Output:
	// error: <nil>
	// ok signature
	// -- transparency log
	// ok predicate type
	// ok subject digest
	// ok builder id
	// ok build type
	// ok source uri
	// -- source ref
	// -- source commit
	// ok committed source
	// -- builder image
	// ok hermetic
	// transparency log not checked (u
}

func ExampleNewVSA() {
	// A verifier's key (in practice attest.LoadSigner with a PEM file or KMS URI).
	privPEM, _, _ := attest.GenerateKey(attest.ECDSAP256, nil)
	priv, _ := attest.ParsePrivateKey(privPEM, nil)
	signer, _ := attest.NewKeySigner(priv)

	st, err := verify.NewVSA(verify.Summary{
		VerifierID:  "https://example.org/verifier",
		ResourceURI: "https://example.org/releases/v1/hello",
		Subjects:    []*intoto.ResourceDescriptor{{Name: "hello", Digest: map[string]string{"sha256": strings.Repeat("1", 64)}}},
		PolicyURI:   "https://example.org/policies/hello.yaml",
		InputAttestations: []*intoto.ResourceDescriptor{{Uri: "https://example.org/releases/v1/provenance.sigstore.json",
			Digest: map[string]string{"sha256": strings.Repeat("2", 64)}}},
		Passed:         true,
		VerifiedLevels: []string{"SLSA_BUILD_LEVEL_2"},
		TimeVerified:   time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC),
	})
	if err != nil {
		panic(err)
	}
	envelope, err := attest.SignVSA(context.Background(), st, signer) // the file slsa-verifier verify-vsa reads
	if err != nil {
		panic(err)
	}
	p := st.GetPredicate().GetFields()
	fmt.Println(st.GetPredicateType())
	fmt.Println(p["verificationResult"].GetStringValue(), p["verifiedLevels"].GetListValue().GetValues()[0].GetStringValue())
	fmt.Println(p["timeVerified"].GetStringValue(), len(envelope) > 0)
	// Output:
	// https://slsa.dev/verification_summary/v1
	// PASSED SLSA_BUILD_LEVEL_2
	// 2026-11-22T05:00:00Z true
}

func ExampleVerifier_VerifyArtifact() {
	// Any in-toto statement (here a made-up predicate), signed with a key, unlogged.
	privPEM, pubPEM, _ := attest.GenerateKey(attest.ECDSAP256, nil)
	priv, _ := attest.ParsePrivateKey(privPEM, nil)
	signer, _ := attest.NewKeySigner(priv)
	digest := strings.Repeat("1", 64)
	b, _ := attest.Sign(context.Background(), &intoto.Statement{
		Type:          intoto.StatementTypeUri,
		Subject:       []*intoto.ResourceDescriptor{{Name: "hello", Digest: map[string]string{"sha256": digest}}},
		PredicateType: "https://example.org/test-result/v1",
	}, signer)

	v, err := verify.New(verify.WithPublicKey(pubPEM), verify.WithoutTransparencyLogUnsafe())
	if err != nil {
		panic(err)
	}
	artifact, err := verify.ArtifactDigest("sha256:" + digest) // or verify.ArtifactFile(path)
	if err != nil {
		panic(err)
	}
	report, err := v.VerifyArtifact(b, artifact, nil) // a keyless bundle needs an *Identity
	fmt.Println("error:", err)
	for _, c := range report.Checks {
		fmt.Println(c.OK, c.Skipped, c.Name)
	}
	fmt.Println(report.Statement.GetPredicateType())
	// Output:
	// error: <nil>
	// true false signature
	// true true transparency log
	// true false subject digest
	// https://example.org/test-result/v1
}
