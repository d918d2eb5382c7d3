package verify

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"google.golang.org/protobuf/proto"

	"github.com/slsabox/slsabox/attest"
)

// testdata/logged holds a bundle of testResult's provenance that was logged to a real
// Rekor v2 (scripts/rekor.sh), with that log's trusted root and the signer's public
// key, so that the log proof is tampered with in unit tests, without services.
// Regenerate it against a running log:
//
//	SLSABOX_REKOR_URL=$(scripts/rekor.sh url) SLSABOX_TRUSTED_ROOT=$(scripts/rekor.sh trusted-root) \
//	    go test ./attest/verify -run TestLoggedTamper -update-logged
var updateLogged = flag.Bool("update-logged", false, "log a new bundle to $SLSABOX_REKOR_URL and rewrite testdata/logged")

const loggedDir = "testdata/logged"

func loggedFixture(t testing.TB) (data []byte, v *Verifier) {
	t.Helper()
	if tt, ok := t.(*testing.T); ok && *updateLogged {
		writeLoggedFixture(tt)
	}
	data, err := os.ReadFile(filepath.Join(loggedDir, "bundle.json"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := os.ReadFile(filepath.Join(loggedDir, "key.pub"))
	if err != nil {
		t.Fatal(err)
	}
	v, err = New(WithPublicKey(pub), WithTrustedRootFile(filepath.Join(loggedDir, "trusted_root.json")))
	if err != nil {
		t.Fatal(err)
	}
	return data, v
}

func writeLoggedFixture(t *testing.T) {
	url, root := os.Getenv("SLSABOX_REKOR_URL"), os.Getenv("SLSABOX_TRUSTED_ROOT")
	if url == "" || root == "" {
		t.Fatal("-update-logged needs SLSABOX_REKOR_URL and SLSABOX_TRUSTED_ROOT (scripts/rekor.sh start)")
	}
	k := newKey(t)
	b := parse(t, sign(t, k, nil))
	log, err := attest.NewRekor(url)
	if err != nil {
		t.Fatal(err)
	}
	if err := attest.LogBundle(context.Background(), b, k.pub, log); err != nil {
		t.Fatal(err)
	}
	rootJSON, err := os.ReadFile(root)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(loggedDir, 0o755)
	if err := attest.WriteBundle(filepath.Join(loggedDir, "bundle.json"), b); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(loggedDir, "key.pub"), k.pub, 0o644)
	os.WriteFile(filepath.Join(loggedDir, "trusted_root.json"), rootJSON, 0o644)
}

// TestLoggedTamper: the genuine logged bundle verifies with its log proof; every change
// to the proof, the checkpoint or the entry's identity fails the transparency log check.
func TestLoggedTamper(t *testing.T) {
	data, v := loggedFixture(t)
	r, err := v.Verify(parse(t, data), goodPolicy())
	if err != nil || !r.Verified {
		t.Fatalf("the logged bundle does not verify: %v\n%+v", err, r.Checks)
	}
	if c, _ := r.Check(CheckTlog); c.Skipped || !strings.Contains(c.Detail, "inclusion proof at index") {
		t.Fatalf("log check: %+v", c)
	}
	entry := func(b *bundle.Bundle) *protobundle.VerificationMaterial { return b.VerificationMaterial }
	checkpoint := func(b *bundle.Bundle, edit func(string) string) {
		cp := entry(b).TlogEntries[0].InclusionProof.Checkpoint
		cp.Envelope = edit(cp.Envelope)
	}
	for name, edit := range map[string]func(*bundle.Bundle){
		"checkpoint signature": func(b *bundle.Bundle) {
			checkpoint(b, func(env string) string {
				i := strings.LastIndex(env, " ") + 1
				sig, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(env[i:]))
				sig[len(sig)-3] ^= 1
				return env[:i] + base64.StdEncoding.EncodeToString(sig) + "\n"
			})
		},
		"checkpoint root hash": func(b *bundle.Bundle) {
			checkpoint(b, func(env string) string {
				lines := strings.SplitN(env, "\n", 4)
				h, _ := base64.StdEncoding.DecodeString(lines[2])
				h[0] ^= 1
				lines[2] = base64.StdEncoding.EncodeToString(h)
				return strings.Join(lines, "\n")
			})
		},
		"checkpoint origin": func(b *bundle.Bundle) {
			checkpoint(b, func(env string) string { return "evil.example" + env[strings.Index(env, "\n"):] })
		},
		"no checkpoint":      func(b *bundle.Bundle) { entry(b).TlogEntries[0].InclusionProof.Checkpoint = nil },
		"proof root hash":    func(b *bundle.Bundle) { entry(b).TlogEntries[0].InclusionProof.RootHash[0] ^= 1 },
		"proof hash":         func(b *bundle.Bundle) { entry(b).TlogEntries[0].InclusionProof.Hashes[0][0] ^= 1 },
		"proof log index":    func(b *bundle.Bundle) { entry(b).TlogEntries[0].InclusionProof.LogIndex++ },
		"proof tree size":    func(b *bundle.Bundle) { entry(b).TlogEntries[0].InclusionProof.TreeSize++ },
		"no inclusion proof": func(b *bundle.Bundle) { entry(b).TlogEntries[0].InclusionProof = nil },
		"log id":             func(b *bundle.Bundle) { entry(b).TlogEntries[0].LogId.KeyId[0] ^= 1 },
		"entry log index":    func(b *bundle.Bundle) { entry(b).TlogEntries[0].LogIndex++ },
		"canonicalized body": func(b *bundle.Bundle) {
			// Another digest of the same length: the body still parses.
			e := entry(b).TlogEntries[0]
			i := bytes.Index(e.CanonicalizedBody, []byte(`"digest":"`)) + len(`"digest":"`)
			if e.CanonicalizedBody[i] == 'A' {
				e.CanonicalizedBody[i] = 'B'
			} else {
				e.CanonicalizedBody[i] = 'A'
			}
		},
		"duplicated entry": func(b *bundle.Bundle) {
			entry(b).TlogEntries = append(entry(b).TlogEntries, proto.Clone(entry(b).TlogEntries[0]).(*protorekor.TransparencyLogEntry))
		},
		"no entry": func(b *bundle.Bundle) { entry(b).TlogEntries = nil },
	} {
		t.Run(name, func(t *testing.T) {
			b := parse(t, data)
			edit(b)
			// Through JSON, as a tampered file would arrive; a bundle that no longer
			// parses is rejected too.
			out, err := attest.MarshalBundle(b)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(out, data) {
				t.Fatal("the edit changed nothing")
			}
			b, err = attest.ParseBundle(out)
			if err != nil {
				t.Logf("rejected by the parser: %v", err)
				return
			}
			r, err := v.Verify(b, goodPolicy())
			if !errors.Is(err, ErrNotLogged) || r.Verified {
				t.Fatalf("err = %v, want %v", err, ErrNotLogged)
			}
			if c, _ := r.Check(CheckTlog); c.OK {
				t.Fatalf("the log check passed: %+v", c)
			}
		})
	}
}

// FuzzLoggedTamperedNeverVerifies mutates the JSON of the logged bundle: whenever the
// result parses and its envelope, its entry's index, body or log id, or its inclusion
// proof differs, Verify must fail.
func FuzzLoggedTamperedNeverVerifies(f *testing.F) {
	data, err := os.ReadFile(filepath.Join(loggedDir, "bundle.json"))
	if err != nil {
		f.Fatal(err)
	}
	pub, _ := os.ReadFile(filepath.Join(loggedDir, "key.pub"))
	v, err := New(WithPublicKey(pub), WithTrustedRootFile(filepath.Join(loggedDir, "trusted_root.json")))
	if err != nil {
		f.Fatal(err)
	}
	orig := parse(f, data)
	f.Add(data)
	for _, i := range []int{len(data) / 4, len(data) / 2, 3 * len(data) / 4, len(data) - 40} {
		m := bytes.Clone(data)
		m[i] ^= 1
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		b, err := attest.ParseBundle(in)
		if err != nil {
			return
		}
		r, err := v.Verify(b, goodPolicy())
		e, o := b.GetVerificationMaterial().GetTlogEntries(), orig.GetVerificationMaterial().GetTlogEntries()
		same := proto.Equal(b.GetDsseEnvelope(), orig.GetDsseEnvelope()) && len(e) == 1 &&
			proto.Equal(e[0].GetInclusionProof(), o[0].GetInclusionProof()) && proto.Equal(e[0].GetLogId(), o[0].GetLogId()) &&
			e[0].GetLogIndex() == o[0].GetLogIndex() && bytes.Equal(e[0].GetCanonicalizedBody(), o[0].GetCanonicalizedBody())
		if !same && (err == nil || r.Verified) {
			t.Fatalf("a bundle with another envelope or proof verifies:\n%s", in)
		}
	})
}

// TestTlogReportsVerifiedEntry: with an entry sigstore-go skips (a promise that does
// not verify) before the good one, the check reports, and compares with its
// checkpoint, the entry that was verified, not the first one of a known log.
func TestTlogReportsVerifiedEntry(t *testing.T) {
	data, v := loggedFixture(t)
	b := parse(t, data)
	good := b.VerificationMaterial.TlogEntries[0]
	skipped := proto.Clone(good).(*protorekor.TransparencyLogEntry)
	skipped.LogIndex = good.LogIndex + 1000
	skipped.IntegratedTime = 1
	skipped.InclusionPromise = &protorekor.InclusionPromise{SignedEntryTimestamp: []byte("not a signature")}
	b.VerificationMaterial.TlogEntries = []*protorekor.TransparencyLogEntry{skipped, good}
	r, err := v.Verify(b, goodPolicy())
	c, _ := r.Check(CheckTlog)
	if err != nil || !c.OK || !strings.Contains(c.Detail, fmt.Sprintf("inclusion proof at index %d ", good.LogIndex)) {
		t.Errorf("log check: %+v, err %v; want the entry at index %d", c, err, good.LogIndex)
	}
}

// BenchmarkVerifyLogged is the library figure of docs/performance.md: one logged,
// key-signed bundle, parsed once, verified against a complete policy.
func BenchmarkVerifyLogged(b *testing.B) {
	data, v := loggedFixture(b)
	bun := parse(b, data)
	p := goodPolicy()
	b.ReportAllocs()
	for b.Loop() {
		if r, err := v.Verify(bun, p); err != nil || !r.Verified {
			b.Fatal(err)
		}
	}
}
