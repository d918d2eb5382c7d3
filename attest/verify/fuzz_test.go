package verify

import (
	"bytes"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"google.golang.org/protobuf/proto"
	"gopkg.in/yaml.v3"

	"github.com/slsabox/slsabox/attest"
)

// FuzzTamperedNeverVerifies mutates the JSON of a genuine bundle: whenever the result
// still parses but its DSSE envelope differs from the original, Verify must fail.
func FuzzTamperedNeverVerifies(f *testing.F) {
	k := newKey(f)
	data := sign(f, k, nil)
	orig := parse(f, data)
	v := unlogged(f, k.pub)
	if _, err := v.Verify(orig, goodPolicy()); err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	for _, i := range []int{len(data) / 3, len(data) / 2, 2 * len(data) / 3} {
		m := bytes.Clone(data)
		m[i] ^= 1
		f.Add(m)
	}
	f.Add(bytes.Replace(data, []byte(`"payloadType": "application/vnd.in-toto+json"`), []byte(`"payloadType": "application/json"`), 1))
	f.Fuzz(func(t *testing.T, in []byte) { checkTampered(t, v, orig, in) })
}

// checkTampered: if in parses and its envelope is not the original's, it must not verify.
func checkTampered(t *testing.T, v *Verifier, orig *bundle.Bundle, in []byte) {
	t.Helper()
	b, err := attest.ParseBundle(in)
	if err != nil {
		return
	}
	r, err := v.Verify(b, goodPolicy())
	if proto.Equal(b.GetDsseEnvelope(), orig.GetDsseEnvelope()) {
		return
	}
	if err == nil || r.Verified {
		t.Fatalf("a bundle with another envelope verifies:\n%s", in)
	}
}

// TestEveryByteFlip applies the fuzz property to every single-bit flip of a genuine
// bundle's JSON, deterministically, so that it runs in every go test.
func TestEveryByteFlip(t *testing.T) {
	k := newKey(t)
	data := sign(t, k, nil)
	orig := parse(t, data)
	v := unlogged(t, k.pub)
	verified := 0
	for i := range data {
		for _, bit := range []byte{1, 0x20} {
			m := bytes.Clone(data)
			m[i] ^= bit
			checkTampered(t, v, orig, m)
			if b, err := attest.ParseBundle(m); err == nil {
				if _, err := v.Verify(b, goodPolicy()); err == nil {
					verified++
				}
			}
		}
	}
	t.Logf("%d flips of %d bytes; %d still verify (same envelope: whitespace, key hint, case of JSON names)", 2*len(data), len(data), verified)
}

// FuzzLoadPolicy: a policy that loads survives a YAML round trip unchanged.
func FuzzLoadPolicy(f *testing.F) {
	f.Add([]byte("builderID: " + testBuilder + "\nsourceURI: " + testSource + "\nallowedImages: [" + testImage + "]\nrequireHermetic: true\n"))
	f.Add([]byte("digest: sha256:" + helloDigest + "\nallowAnyBuilderUnsafe: true\n"))
	f.Add([]byte(identityPolicyYAML))
	f.Add([]byte("certificateIdentity:\n  subjectAlternativeNameRegexp: https://github\\.com/o/.*\n  issuer: " + ghIssuer + "\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := LoadPolicy(in)
		if err != nil {
			return
		}
		out, err := yaml.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		q, err := LoadPolicy(out)
		if err != nil {
			t.Fatalf("a loaded policy does not reload: %v\n%s", err, out)
		}
		a, _ := yaml.Marshal(q)
		if !bytes.Equal(out, a) {
			t.Fatalf("round trip changed the policy:\n%s\n%s", out, a)
		}
	})
}
