//go:build integration

package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/slsabox/slsabox/attest"
	"github.com/slsabox/slsabox/builder"
	"github.com/slsabox/slsabox/internal/testenv"
)

// ecdsaVerifier checks DSSE signatures with crypto/ecdsa alone: with securesystemslib
// computing the PAE, the VSA is checked by code that shares nothing with its writer
// (sigstore-go's DSSE signer).
type ecdsaVerifier struct{ pub *ecdsa.PublicKey }

func (v ecdsaVerifier) Verify(_ context.Context, data, sig []byte) error {
	h := sha256.Sum256(data)
	if !ecdsa.VerifyASN1(v.pub, h[:], sig) {
		return errors.New("bad signature")
	}
	return nil
}
func (v ecdsaVerifier) KeyID() (string, error)   { return "", nil }
func (v ecdsaVerifier) Public() crypto.PublicKey { return v.pub }

// vsaFile is a VSA as the SLSA spec spells it.
type vsaFile struct {
	Type          string `json:"_type"`
	PredicateType string `json:"predicateType"`
	Subject       []struct {
		Name   string            `json:"name"`
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
	Predicate struct {
		Verifier     struct{ ID string } `json:"verifier"`
		TimeVerified time.Time           `json:"timeVerified"`
		ResourceURI  string              `json:"resourceUri"`
		Policy       struct {
			URI    string
			Digest map[string]string
		} `json:"policy"`
		InputAttestations []struct {
			URI    string
			Digest map[string]string
		} `json:"inputAttestations"`
		VerificationResult string   `json:"verificationResult"`
		VerifiedLevels     []string `json:"verifiedLevels"`
		SlsaVersion        string   `json:"slsaVersion"`
	} `json:"predicate"`
}

// openVSA checks the file's DSSE signature with the public key and decodes the VSA.
func openVSA(t *testing.T, path, pubPath string) (*vsaFile, error) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var env dsse.Envelope
	if err := json.Unmarshal(data, &env); err != nil {
		t.Fatalf("%s is not a DSSE envelope: %v", path, err)
	}
	pubPEM, _ := os.ReadFile(pubPath)
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := dsse.NewEnvelopeVerifier(ecdsaVerifier{pub.(*ecdsa.PublicKey)})
	if _, err := ev.Verify(context.Background(), &env); err != nil {
		return nil, err
	}
	if env.PayloadType != "application/vnd.in-toto+json" {
		t.Errorf("payload type %q", env.PayloadType)
	}
	payload, _ := env.DecodeB64Payload()
	var v vsaFile
	if err := json.Unmarshal(payload, &v); err != nil {
		t.Fatal(err)
	}
	return &v, nil
}

// TestVerifyVSA verifies a bundle logged to the real local Rekor with slsabox verify
// --vsa-out and checks the VSA with securesystemslib's DSSE verifier: fields, PASSED
// and FAILED results, the policy recorded, bad VSA flags, and the embedded
// public-good root refusing a bundle of another log.
func TestVerifyVSA(t *testing.T) {
	rekorURL, trustedRoot := testenv.Rekor(t)
	dir := t.TempDir()
	at := func(name string) string { return filepath.Join(dir, name) }
	builderKey, verifierKey := keygen(t), keygen(t)

	// A provenance signed with the builder's key and logged, as slsabox build does.
	artifact := []byte("an artifact with a VSA\n")
	os.WriteFile(at("hello"), artifact, 0o644)
	sum := sha256.Sum256(artifact)
	digest := hex.EncodeToString(sum[:])
	t0 := time.Now().UTC()
	res := &builder.Result{
		BuildID:    "vsa-test",
		Definition: builder.DefinitionInfo{Path: "slsabox.yaml", SHA256: digest, Content: "version: 1\n"},
		Source: &builder.Source{RepoRoot: "/src", Commit: strings.Repeat("c", 40), Ref: "refs/heads/main",
			RemoteURL: "https://example.org/vsa-test.git", CommitTime: t0},
		Image:     &builder.ResolvedImage{Ref: "example.org/img@sha256:" + digest, Digest: "sha256:" + digest, ManifestDigest: "sha256:" + digest},
		Subjects:  []builder.Subject{{Name: "hello", SHA256: digest}},
		Sandbox:   builder.Sandbox{Network: "none"},
		StartedOn: t0, FinishedOn: t0.Add(time.Second), LogSHA256: digest,
	}
	const builderID = "https://slsabox.dev/builders/vsa-test/v1"
	const sourceURI = "git+https://example.org/vsa-test"
	st, err := attest.Provenance(describeBuild(res, "", ""), builderID)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := attest.LoadSigner(context.Background(), builderKey+".key")
	if err != nil {
		t.Fatal(err)
	}
	b, err := attest.Sign(context.Background(), st, signer)
	if err != nil {
		t.Fatal(err)
	}
	version, _ := strconv.Atoi(rekorVersion())
	log, err := attest.NewRekor(rekorURL, attest.WithRekorVersion(uint32(version)))
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, _ := os.ReadFile(builderKey + ".pub")
	if err := attest.LogBundle(context.Background(), b, pubPEM, log); err != nil {
		t.Fatal(err)
	}
	bundlePath := at("provenance.sigstore.json")
	if err := attest.WriteBundle(bundlePath, b); err != nil {
		t.Fatal(err)
	}
	bundleJSON, _ := os.ReadFile(bundlePath)

	const resource = "https://example.org/releases/v1/hello"
	vsaPath := at("hello.vsa.json")
	args := func(extra ...string) []string {
		return append([]string{"verify", at("hello"), "--bundle", bundlePath, "--key", builderKey + ".pub",
			"--trusted-root", trustedRoot, "--builder-id", builderID, "--source-uri", sourceURI,
			"--vsa-out", vsaPath, "--vsa-key", verifierKey + ".key", "--vsa-resource-uri", resource}, extra...)
	}

	t.Run("passed", func(t *testing.T) {
		stdout, stderr, code := slsabox(t, args("--require-hermetic", "--builder-level", "3")...)
		if code != 0 || !strings.Contains(stdout, "SLSA_BUILD_LEVEL_3") || !strings.Contains(stderr, "wrote PASSED VSA") {
			t.Fatalf("exit %d:\n%s\n%s", code, stdout, stderr)
		}
		v, err := openVSA(t, vsaPath, verifierKey+".pub")
		if err != nil {
			t.Fatalf("the VSA does not verify with the verifier's key: %v", err)
		}
		p := v.Predicate
		policyJSON, _ := url.PathUnescape(strings.TrimPrefix(p.Policy.URI, "data:application/json,"))
		policySum := sha256.Sum256([]byte(policyJSON))
		bundleSum := sha256.Sum256(bundleJSON)
		for name, ok := range map[string]bool{
			"_type":              v.Type == "https://in-toto.io/Statement/v1",
			"predicateType":      v.PredicateType == "https://slsa.dev/verification_summary/v1",
			"subject":            len(v.Subject) == 1 && v.Subject[0].Name == "hello" && v.Subject[0].Digest["sha256"] == digest,
			"verifier.id":        p.Verifier.ID == defaultVerifierID,
			"timeVerified":       time.Since(p.TimeVerified) < 5*time.Minute && time.Since(p.TimeVerified) > -time.Minute,
			"resourceUri":        p.ResourceURI == resource,
			"policy uri":         strings.HasPrefix(p.Policy.URI, "data:application/json,") && strings.Contains(policyJSON, `"builderID":"`+builderID+`"`) && strings.Contains(policyJSON, `"builderLevel":3`),
			"policy digest":      p.Policy.Digest["sha256"] == hex.EncodeToString(policySum[:]),
			"inputAttestations":  len(p.InputAttestations) == 1 && p.InputAttestations[0].Digest["sha256"] == hex.EncodeToString(bundleSum[:]) && strings.HasPrefix(p.InputAttestations[0].URI, "file:///"),
			"verificationResult": p.VerificationResult == "PASSED",
			"verifiedLevels":     strings.Join(p.VerifiedLevels, ",") == "SLSA_BUILD_LEVEL_3",
			"slsaVersion":        p.SlsaVersion == "1.0",
		} {
			if !ok {
				t.Errorf("%s is wrong: %+v", name, v)
			}
		}
		// Only the verifier's key verifies it.
		if _, err := openVSA(t, vsaPath, builderKey+".pub"); err == nil {
			t.Error("the VSA verifies with another key")
		}
		// A changed payload does not verify.
		data, _ := os.ReadFile(vsaPath)
		var env map[string]any
		json.Unmarshal(data, &env)
		payload, _ := (&dsse.Envelope{Payload: env["payload"].(string)}).DecodeB64Payload()
		env["payload"] = base64.StdEncoding.EncodeToString([]byte(strings.Replace(string(payload), "LEVEL_3", "LEVEL_4", 1)))
		data, _ = json.Marshal(env)
		tampered := at("tampered.vsa.json")
		os.WriteFile(tampered, data, 0o644)
		if _, err := openVSA(t, tampered, verifierKey+".pub"); err == nil {
			t.Error("a tampered VSA verifies")
		}
	})

	t.Run("policy file", func(t *testing.T) {
		policy := at("policy.yaml")
		os.WriteFile(policy, []byte("builderID: "+builderID+"\nsourceURI: "+sourceURI+"\n"), 0o644)
		stdout, stderr, code := slsabox(t, "verify", at("hello"), "--bundle", bundlePath, "--key", builderKey+".pub",
			"--trusted-root", trustedRoot, "--policy", policy, "--vsa-out", vsaPath, "--vsa-key", verifierKey+".key",
			"--vsa-resource-uri", resource, "--vsa-verifier-id", "https://verifier.example/v1")
		if code != 0 {
			t.Fatalf("exit %d:\n%s\n%s", code, stdout, stderr)
		}
		v, err := openVSA(t, vsaPath, verifierKey+".pub")
		if err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(policy)
		sum := sha256.Sum256(data)
		abs, _ := filepath.Abs(policy)
		if v.Predicate.Policy.URI != "file://"+abs || v.Predicate.Policy.Digest["sha256"] != hex.EncodeToString(sum[:]) {
			t.Errorf("policy %+v, want file://%s with sha256 %x", v.Predicate.Policy, abs, sum)
		}
		if v.Predicate.Verifier.ID != "https://verifier.example/v1" || strings.Join(v.Predicate.VerifiedLevels, ",") != "SLSA_BUILD_LEVEL_1" {
			t.Errorf("verifier %q, levels %v", v.Predicate.Verifier.ID, v.Predicate.VerifiedLevels)
		}
	})

	t.Run("failed", func(t *testing.T) {
		stdout, stderr, code := slsabox(t, args("--builder-id", "https://evil.example/builder")...)
		if code != 1 || !strings.Contains(stderr, "wrote FAILED VSA") {
			t.Fatalf("exit %d, want 1:\n%s\n%s", code, stdout, stderr)
		}
		v, err := openVSA(t, vsaPath, verifierKey+".pub")
		if err != nil {
			t.Fatal(err)
		}
		if v.Predicate.VerificationResult != "FAILED" || strings.Join(v.Predicate.VerifiedLevels, ",") != "FAILED" {
			t.Errorf("a failed verification wrote %s %v", v.Predicate.VerificationResult, v.Predicate.VerifiedLevels)
		}
	})

	t.Run("bad flags", func(t *testing.T) {
		before, _ := os.ReadFile(vsaPath)
		for name, a := range map[string][]string{
			"no vsa key":        {"verify", at("hello"), "--bundle", bundlePath, "--key", builderKey + ".pub", "--trusted-root", trustedRoot, "--builder-id", builderID, "--source-uri", sourceURI, "--vsa-out", vsaPath, "--vsa-resource-uri", resource},
			"no resource uri":   {"verify", at("hello"), "--bundle", bundlePath, "--key", builderKey + ".pub", "--trusted-root", trustedRoot, "--builder-id", builderID, "--source-uri", sourceURI, "--vsa-out", vsaPath, "--vsa-key", verifierKey + ".key"},
			"verifier id":       args("--vsa-verifier-id", "not a uri"),
			"missing vsa key":   args("--vsa-key", at("missing.key")),
			"level 3, hermetic": args("--builder-level", "3"),
		} {
			_, stderr, code := slsabox(t, a...)
			if code != 2 {
				t.Errorf("%s: exit %d, want 2:\n%s", name, code, stderr)
			}
		}
		if after, _ := os.ReadFile(vsaPath); string(after) != string(before) {
			t.Error("a run with bad input changed the VSA file")
		}
	})

	t.Run("public-good root by default", func(t *testing.T) {
		// No --trusted-root: the embedded public-good root, which does not name the local log.
		stdout, stderr, code := slsabox(t, "verify", at("hello"), "--bundle", bundlePath, "--key", builderKey+".pub",
			"--trusted-root=", "--builder-id", builderID, "--source-uri", sourceURI)
		if code != 1 || !strings.Contains(stdout, "FAIL transparency log") || !strings.Contains(stdout, "does not name") {
			t.Fatalf("exit %d, want 1 and a log failure:\n%s\n%s", code, stdout, stderr)
		}
	})
}

// TestNoCollectionDuringInit guards internal/lazygc: slsabox's packages allocate just
// over the first collection goal while they initialize, and that collection cost a
// third of a verification's CPU time. gctrace prints a line per collection.
func TestNoCollectionDuringInit(t *testing.T) {
	cmd := exec.Command(slsaboxBin, "verify", "--help")
	cmd.Env = append(os.Environ(), "GODEBUG=gctrace=1,inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(string(out), "init github.com/slsabox/slsabox/internal/lazygc") {
		t.Fatalf("internal/lazygc is not initialized:\n%s", out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "gc ") {
			t.Errorf("a collection while packages initialize (move internal/lazygc earlier): %s", line)
		}
	}
}
