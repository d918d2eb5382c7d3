package verify_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/slsabox/slsabox/attest"
	"github.com/slsabox/slsabox/attest/verify"
	"github.com/slsabox/slsabox/builder"
)

func ExampleVerifier_Verify() {
	// A signed bundle, as slsabox build writes it (without a log entry here).
	privPEM, pubPEM, _ := attest.GenerateKey(attest.ECDSAP256, nil)
	priv, _ := attest.ParsePrivateKey(privPEM, nil)
	signer, _ := attest.NewKeySigner(priv)
	digest := strings.Repeat("1", 64)
	img := "sha256:" + strings.Repeat("a", 64)
	st, _ := attest.Provenance(&builder.Result{
		Source:    &builder.Source{RepoRoot: "/r", Commit: strings.Repeat("c", 40), Ref: "refs/heads/main", RemoteURL: "https://github.com/o/r"},
		Image:     &builder.ResolvedImage{Ref: "golang@" + img, Digest: img},
		Subjects:  []builder.Subject{{Name: "hello", SHA256: digest}},
		Sandbox:   builder.Sandbox{Network: "none"},
		StartedOn: time.Unix(0, 0), FinishedOn: time.Unix(1, 0), LogSHA256: strings.Repeat("f", 64),
	}, attest.ProvenanceOptions{BuilderID: "https://example.org/builder"})
	b, _ := attest.Sign(context.Background(), st, signer, attest.SignOptions{})

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
	// -- builder image
	// ok hermetic
	// transparency log not checked (u
}
