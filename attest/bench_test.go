package attest

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkProvenanceSignWrite measures what slsabox adds after a build: building the
// statement, signing it and writing the bundle atomically, for 1, 100 and 1000 subjects.
// Run: go test ./attest -run XXX -bench ProvenanceSignWrite -benchmem
func BenchmarkProvenanceSignWrite(b *testing.B) {
	for _, alg := range []KeyAlgorithm{ECDSAP256, Ed25519} {
		privPEM, _, err := GenerateKey(alg, nil)
		if err != nil {
			b.Fatal(err)
		}
		priv, _ := ParsePrivateKey(privPEM, nil)
		signer, _ := NewKeySigner(priv)
		for _, n := range []int{1, 100, 1000} {
			res := testResult()
			res.Subjects = make([]Subject, n)
			for i := range res.Subjects {
				res.Subjects[i] = Subject{Name: fmt.Sprintf("dist/artifact-%04d.tar.gz", i), SHA256: strings.Repeat("ab", 32)}
			}
			path := filepath.Join(b.TempDir(), BundleFile)
			b.Run(fmt.Sprintf("%s/subjects=%d", alg, n), func(b *testing.B) {
				for b.Loop() {
					st, err := Provenance(res, testBuilderID, testOpts...)
					if err != nil {
						b.Fatal(err)
					}
					bun, err := Sign(context.Background(), st, signer)
					if err != nil {
						b.Fatal(err)
					}
					if err := WriteBundle(path, bun); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
