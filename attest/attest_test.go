package attest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/slsabox/slsabox/attest/spec"
)

var update = flag.Bool("update", false, "rewrite golden files")

func testResult() *Build {
	t0 := time.Date(2026, 11, 22, 1, 2, 3, 0, time.UTC)
	return &Build{
		Definition: Definition{Path: "examples/hello-go/slsabox.yaml", SHA256: strings.Repeat("d", 64),
			Content: "version: 1\n"},
		Source: Source{URI: "git+https://github.com/slsabox/slsabox", Path: "examples/hello-go", Commit: strings.Repeat("c", 40),
			Ref: "refs/heads/main"},
		Image: Image{Ref: "docker.io/library/golang:1.26@sha256:" + strings.Repeat("a", 64),
			Digest: "sha256:" + strings.Repeat("a", 64), ManifestDigest: "sha256:" + strings.Repeat("a", 64),
			ConfigDigest: "sha256:" + strings.Repeat("b", 64), Platform: "linux/amd64"},
		Subjects: []Subject{{Name: "hello", SHA256: strings.Repeat("1", 64)},
			{Name: "sub/hello.tar.gz", SHA256: strings.Repeat("2", 64)}},
		Limits:     Limits{MemoryBytes: 2 << 30, Pids: 1024, Timeout: "20m0s", OutputSizeBytes: 4 << 30, CPUs: 1.5, LogSizeBytes: 64 << 20},
		Sandbox:    Sandbox{UID: 48213, GID: 48213, Network: "none", RootFS: "read-only", Capabilities: "none", NoNewPrivs: true, Seccomp: "containerd-default-native", SeccompDigest: "sha256:" + strings.Repeat("e", 64), TmpSize: 2 << 30, Hostname: "slsabox", SourceWritable: true, CgroupNamespace: "private", CoreDumps: "disabled", UserNamespace: "private: ids 0-65535 mapped to 65536 host ids of this build only, none of them root", Runtime: "runc"},
		Runtime:    Runtime{Containerd: "1.6.20", Runc: "1.1.5", Snapshotter: "overlayfs", Namespace: "slsabox"},
		StartedOn:  t0,
		FinishedOn: t0.Add(90 * time.Second),
		LogSHA256:  strings.Repeat("f", 64),
		Inputs: []Input{
			{Name: "dep-1.2.tar.gz", URI: "https://example.org/dep-1.2.tar.gz", Digest: map[string]string{"sha256": strings.Repeat("3", 64)}},
			{Name: "golang.org/x/text@v0.43.0", URI: "pkg:golang/golang.org/x/text@v0.43.0", GoSum: "h1:1QivrlhwAsnMOcqgOdl9my7s9OyZl8O5/UGUTJVXoWc=",
				Digest: map[string]string{"dirHash": "d508afae587002c9cc39caa039d97d9b2eecf4ec9997c3b9fd41944c9557a167"}},
			{Name: "golang.org/x/text@v0.43.0/go.mod", URI: "pkg:golang/golang.org/x/text@v0.43.0#go.mod", GoSum: "h1:hbSIYA/amXcRXTFSZqh8tWHEoqRvvbKPJ2uz/KU+a+s=",
				Digest: map[string]string{"dirHash": "85b488600fda9977115d315266a87cb561c4a2a46fbdb28f276bb3fca53e6beb"}},
		},
	}
}

const testBuilderID = "https://example.org/builder"

var testOpts = []ProvenanceOption{WithInvocationID("https://example.org/run/1"), WithSlsaboxBinary("v0.1.0", strings.Repeat("9", 64))}

// TestProvenanceGolden pins the JSON shape of the statement.
func TestProvenanceGolden(t *testing.T) {
	st, err := Provenance(testResult(), testBuilderID, testOpts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Validate(); err != nil {
		t.Fatalf("the bindings reject the statement: %v", err)
	}
	b, err := MarshalStatement(st)
	if err != nil {
		t.Fatal(err)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, b, "", "  "); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "provenance.golden.json")
	if *update {
		if err := os.WriteFile(golden, append(pretty.Bytes(), '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got := append(pretty.Bytes(), '\n'); !bytes.Equal(got, want) {
		t.Errorf("statement differs from %s (go test ./attest -update to accept):\n%s", golden, got)
	}
	if strings.Contains(string(b), "token") {
		t.Error("credentials from the remote URL reached the provenance")
	}
	// Stable: the same result gives the same bytes.
	st2, _ := Provenance(testResult(), testBuilderID, testOpts...)
	b2, _ := MarshalStatement(st2)
	if !bytes.Equal(b, b2) {
		t.Error("MarshalStatement is not stable")
	}
	if _, err := ParseStatement(b); err != nil {
		t.Errorf("ParseStatement of our own output: %v", err)
	}
}

// TestReadProvenance reads back what Provenance wrote: the recipe slsabox rebuild runs.
func TestReadProvenance(t *testing.T) {
	res := testResult()
	st := provenanceRoundTrip(t, res, testOpts)
	r, err := ReadProvenance(st)
	if err != nil {
		t.Fatal(err)
	}
	if r.Commit != res.Source.Commit || r.SourcePath != "examples/hello-go" || r.SourceRef != "refs/heads/main" ||
		r.SourceURI != "git+https://github.com/slsabox/slsabox" || r.Dirty {
		t.Errorf("source = %+v", r)
	}
	if r.DefinitionPath != "examples/hello-go/slsabox.yaml" || r.DefinitionContent != "version: 1\n" || r.DefinitionSHA256 != res.Definition.SHA256 {
		t.Errorf("definition = %q %q %q", r.DefinitionPath, r.DefinitionContent, r.DefinitionSHA256)
	}
	if r.Image != res.Image.Ref || r.ImageDigest != res.Image.Digest || r.SlsaboxVersion != "v0.1.0" {
		t.Errorf("image = %s %s", r.Image, r.ImageDigest)
	}
	if len(r.Inputs) != 3 || r.Inputs[1].GoSum != res.Inputs[1].GoSum || r.Inputs[0].Digest["sha256"] != res.Inputs[0].Digest["sha256"] ||
		r.Inputs[2].URI != "pkg:golang/golang.org/x/text@v0.43.0#go.mod" {
		t.Errorf("inputs = %+v", r.Inputs)
	}
	if len(r.Subjects) != 2 || r.Subjects[1].Name != "sub/hello.tar.gz" || r.Subjects[1].SHA256 != strings.Repeat("2", 64) {
		t.Errorf("subjects = %+v", r.Subjects)
	}
	if r.Runtime != "runc" {
		t.Errorf("runtime = %q", r.Runtime)
	}
	res.Source.Dirty = true
	res.Sandbox.Runtime = "gvisor"
	st, _ = Provenance(res, testBuilderID, testOpts...)
	if r, err := ReadProvenance(st); err != nil || !r.Dirty || r.Runtime != "gvisor" {
		t.Errorf("dirty tree or gVisor not read back: %+v %v", r, err)
	}
	st.PredicateType = "https://example.org/other"
	if _, err := ReadProvenance(st); !errors.Is(err, ErrInvalidProvenance) {
		t.Errorf("other predicate: %v", err)
	}
}

func TestProvenanceErrors(t *testing.T) {
	if _, err := Provenance(testResult(), ""); !errors.Is(err, ErrInvalidProvenance) {
		t.Errorf("no builder id: %v", err)
	}
	for name, o := range map[string]ProvenanceOption{
		"empty invocation id": WithInvocationID(" "),
		"no version":          WithSlsaboxBinary("", ""),
		"digest not sha256":   WithSlsaboxBinary("v1", "abc"),
	} {
		if _, err := Provenance(testResult(), testBuilderID, o); !errors.Is(err, ErrInvalidProvenance) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := Sign(context.Background(), nil, nil, WithTimestampAuthority(nil)); !errors.Is(err, ErrSign) {
		t.Errorf("nil timestamp authority: %v", err)
	}
	if _, err := SignPayload(context.Background(), nil, nil, WithTransparencyLog(nil)); !errors.Is(err, ErrSign) {
		t.Errorf("nil transparency log: %v", err)
	}
	if _, err := NewKeylessSigner("https://fulcio.example", &GitHubActionsToken{RequestURL: "http://127.0.0.1:1/token"}, WithFulcioTimeout(0)); !errors.Is(err, ErrKey) {
		t.Errorf("fulcio timeout 0: %v", err)
	}
	r := testResult()
	r.Subjects = nil
	if _, err := Provenance(r, testBuilderID, testOpts...); !errors.Is(err, ErrInvalidProvenance) {
		t.Errorf("no subjects: %v", err)
	}
	r = testResult()
	r.Source.Dirty, r.AllowDirtyTree = true, true
	st, err := Provenance(r, testBuilderID, testOpts...)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := MarshalStatement(st)
	if !strings.Contains(string(b), `"dirty":true`) || !strings.Contains(string(b), `"allowDirty":true`) {
		t.Errorf("a dirty build is not marked: %s", b)
	}
}

// TestProvenanceRecordsNoTlog: --no-tlog is an opt-out, so the signed statement
// says whether it was taken, as externalParameters.noTlog.
func TestProvenanceRecordsNoTlog(t *testing.T) {
	for _, noTlog := range []bool{false, true} {
		opts := testOpts
		if noTlog {
			opts = append(slices.Clip(opts), WithNoTlog())
		}
		st := provenanceRoundTrip(t, testResult(), opts)
		pred := st.GetPredicate().GetFields()["buildDefinition"].GetStructValue()
		v, ok := pred.GetFields()["externalParameters"].GetStructValue().GetFields()["noTlog"]
		if !ok || v.GetBoolValue() != noTlog {
			t.Errorf("NoTlog %v: externalParameters.noTlog = %v (present %v)", noTlog, v, ok)
		}
	}
}

func TestSourceURI(t *testing.T) {
	for in, want := range map[string]string{
		"https://github.com/o/r.git":                 "git+https://github.com/o/r",
		"https://x-access-token:abc@github.com/o/r":  "git+https://github.com/o/r",
		"git@github.com:o/r.git":                     "git+https://github.com/o/r",
		"ssh://git@gitlab.example.org:2222/g/p.git":  "git+https://gitlab.example.org/g/p",
		"git+https://github.com/o/r":                 "git+https://github.com/o/r",
		"":                                           "git+file:///repo",
		"https://example.org/r?token=secret#section": "git+https://example.org/r",
		// Local remotes are file URLs, relative ones resolved against the repository.
		"/srv/git/r.git":               "git+file:///srv/git/r.git",
		"/srv/git/r/":                  "git+file:///srv/git/r",
		"/srv/my repo":                 "git+file:///srv/my%20repo",
		"../other":                     "git+file:///other",
		"./sub/../peer.git":            "git+file:///repo/peer.git",
		"other":                        "git+file:///repo/other",
		"dir/with:colon":               "git+file:///repo/dir/with:colon",
		"file:///srv/git/r.git":        "git+file:///srv/git/r.git",
		"git+file:///srv/git/r":        "git+file:///srv/git/r",
		"file://user:token@/srv/git/r": "git+file:///srv/git/r",
	} {
		if got := SourceURI(in, "/repo"); got != want {
			t.Errorf("SourceURI(%q) = %q, want %q", in, got, want)
		}
	}
}

// verifyBundle checks a key-signed, unlogged bundle with sigstore-go against pub.
func verifyBundle(t *testing.T, b *bundle.Bundle, pub crypto.PublicKey, artifact []byte) error {
	t.Helper()
	v, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	tm := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
		return root.NewExpiringKey(v, time.Time{}, time.Time{}), nil
	})
	sev, err := verify.NewVerifier(tm, verify.WithCurrentTime())
	if err != nil {
		t.Fatal(err)
	}
	_, err = sev.Verify(b, verify.NewPolicy(verify.WithArtifact(bytes.NewReader(artifact)), verify.WithKey()))
	return err
}

func TestSignRoundTrip(t *testing.T) {
	for _, alg := range []KeyAlgorithm{ECDSAP256, Ed25519} {
		t.Run(string(alg), func(t *testing.T) {
			signer := newTestSigner(t, alg)
			artifact := []byte("hello artifact")
			sum := sha256.Sum256(artifact)
			res := testResult()
			res.Subjects = []Subject{{Name: "hello", SHA256: hexOf(sum[:])}}
			st, err := Provenance(res, testBuilderID, testOpts...)
			if err != nil {
				t.Fatal(err)
			}
			b, err := Sign(context.Background(), st, signer)
			if err != nil {
				t.Fatal(err)
			}
			env := b.GetDsseEnvelope()
			if env.PayloadType != spec.InTotoPayloadType || len(env.Signatures) != 1 || env.Signatures[0].Keyid != "" {
				t.Errorf("envelope: type %q, %d signatures, keyid %q", env.PayloadType, len(env.Signatures), env.Signatures[0].Keyid)
			}
			if b.GetMediaType() != "application/vnd.dev.sigstore.bundle.v0.3+json" {
				t.Errorf("media type %q", b.GetMediaType())
			}
			if err := verifyBundle(t, b, signer.GetPublicKey(), artifact); err != nil {
				t.Fatalf("sigstore-go rejects our bundle: %v", err)
			}
			if err := verifyBundle(t, b, signer.GetPublicKey(), []byte("another artifact")); err == nil {
				t.Error("a bundle verified for another artifact")
			}
			other, _, _ := GenerateKey(alg, nil)
			op, _ := ParsePrivateKey(other, nil)
			os, _ := NewKeySigner(op)
			if err := verifyBundle(t, b, os.GetPublicKey(), artifact); err == nil {
				t.Error("a bundle verified with another key")
			}

			// Through the file: written atomically, read back equal.
			path := filepath.Join(t.TempDir(), BundleFile)
			if err := WriteBundle(path, b); err != nil {
				t.Fatal(err)
			}
			data, _ := readFile(path)
			b2, err := ParseBundle(data)
			if err != nil {
				t.Fatal(err)
			}
			if err := verifyBundle(t, b2, signer.GetPublicKey(), artifact); err != nil {
				t.Errorf("bundle read back does not verify: %v", err)
			}
		})
	}
}

func TestEncryptedKeys(t *testing.T) {
	privPEM, _, err := GenerateKey(ECDSAP256, []byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(privPEM, []byte("ENCRYPTED PRIVATE KEY")) {
		t.Fatalf("not encrypted: %s", privPEM)
	}
	pass := func(p string) func() ([]byte, error) { return func() ([]byte, error) { return []byte(p), nil } }
	if _, err := ParsePrivateKey(privPEM, pass("correct horse")); err != nil {
		t.Errorf("right passphrase: %v", err)
	}
	if _, err := ParsePrivateKey(privPEM, pass("wrong")); !errors.Is(err, ErrPassphrase) {
		t.Errorf("wrong passphrase: %v", err)
	}
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "k.key")
	os.WriteFile(keyFile, privPEM, 0o600)
	t.Setenv(PassphraseEnv, "correct horse")
	if _, err := LoadSigner(context.Background(), keyFile); err != nil {
		t.Errorf("LoadSigner with the passphrase in the environment: %v", err)
	}
	os.Unsetenv(PassphraseEnv)
	if _, err := LoadSigner(context.Background(), keyFile); !errors.Is(err, ErrPassphrase) || !strings.Contains(err.Error(), PassphraseEnv) {
		t.Errorf("LoadSigner without a passphrase: %v", err)
	}
}

func TestParsePrivateKeyErrors(t *testing.T) {
	_, pub, _ := GenerateKey(ECDSAP256, nil)
	for name, in := range map[string][]byte{
		"empty":      nil,
		"not pem":    []byte("hello"),
		"public key": pub,
		"garbage":    []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
		"rsa type":   []byte("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"),
	} {
		if _, err := ParsePrivateKey(in, nil); !errors.Is(err, ErrKey) {
			t.Errorf("%s: err = %v, want ErrKey", name, err)
		}
	}
}

func readFile(p string) ([]byte, error) { return os.ReadFile(p) }

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// provenanceRoundTrip makes the provenance of res and reads it back through its JSON,
// as a verifier would.
func provenanceRoundTrip(t *testing.T, res *Build, opts []ProvenanceOption) *intoto.Statement {
	t.Helper()
	st, err := Provenance(res, testBuilderID, opts...)
	if err != nil {
		t.Fatal(err)
	}
	b, err := MarshalStatement(st)
	if err != nil {
		t.Fatal(err)
	}
	if st, err = ParseStatement(b); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestSignVSARefusesOtherStatements: SignVSA signs verification summaries only.
func TestSignVSARefusesOtherStatements(t *testing.T) {
	st := provenanceRoundTrip(t, testResult(), testOpts)
	if _, err := SignVSA(context.Background(), st, newTestSigner(t, ECDSAP256)); !errors.Is(err, ErrInvalidProvenance) {
		t.Errorf("signed a statement that is not a VSA: %v", err)
	}
}

func newTestSigner(t *testing.T, alg KeyAlgorithm) Signer {
	t.Helper()
	privPEM, _, err := GenerateKey(alg, nil)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := ParsePrivateKey(privPEM, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewKeySigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
