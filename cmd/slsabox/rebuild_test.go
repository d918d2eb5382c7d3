//go:build !slsabox_verifyonly

package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slsabox/slsabox/attest"
	"github.com/slsabox/slsabox/attest/verify"
)

func TestCompareSubjects(t *testing.T) {
	a, b, c := strings.Repeat("a", 64), strings.Repeat("b", 64), strings.Repeat("c", 64)
	for name, tc := range map[string]struct {
		recorded, rebuilt []attest.Subject
		want              string // name:match per subject
		ok                bool
	}{
		"same":    {[]attest.Subject{{Name: "x", SHA256: a}, {Name: "y", SHA256: b}}, []attest.Subject{{Name: "y", SHA256: b}, {Name: "x", SHA256: a}}, "x:true y:true", true},
		"differs": {[]attest.Subject{{Name: "x", SHA256: a}, {Name: "y", SHA256: b}}, []attest.Subject{{Name: "x", SHA256: a}, {Name: "y", SHA256: c}}, "x:true y:false", false},
		"missing": {[]attest.Subject{{Name: "x", SHA256: a}, {Name: "y", SHA256: b}}, []attest.Subject{{Name: "x", SHA256: a}}, "x:true y:false", false},
		"extra":   {[]attest.Subject{{Name: "x", SHA256: a}}, []attest.Subject{{Name: "x", SHA256: a}, {Name: "z", SHA256: c}}, "x:true z:false", false},
		"none":    {nil, nil, "", false},
	} {
		got, ok := compareSubjects(tc.recorded, tc.rebuilt)
		var parts []string
		for _, s := range got {
			parts = append(parts, s.Name+":"+map[bool]string{true: "true", false: "false"}[s.Match])
		}
		if strings.Join(parts, " ") != tc.want || ok != tc.ok {
			t.Errorf("%s: %v %v, want %s %v", name, parts, ok, tc.want, tc.ok)
		}
	}
}

func TestDiffInputs(t *testing.T) {
	in := func(uri, d string) attest.Input {
		return attest.Input{URI: uri, Digest: map[string]string{"sha256": d}}
	}
	rec := []attest.Input{in("https://x/a", "1"), in("pkg:golang/m@v1", "2")}
	if d := diffInputs(rec, []attest.Input{in("pkg:golang/m@v1", "2"), in("https://x/a", "1")}); d != "" {
		t.Errorf("same inputs: %q", d)
	}
	d := diffInputs(rec, []attest.Input{in("https://x/a", "9"), in("pkg:golang/m@v1", "2")})
	if !strings.Contains(d, "recorded https://x/a not used") || !strings.Contains(d, "rebuild used https://x/a") {
		t.Errorf("changed digest: %q", d)
	}
}

// TestRebuildVSANamesVerifiedBytes: the rebuild VSA names the bundle that was read and
// verified, by digest, even if the file at that path changed since.
func TestRebuildVSANamesVerifiedBytes(t *testing.T) {
	dir := t.TempDir()
	privPEM, _, err := attest.GenerateKey(attest.ECDSAP256, nil)
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := attest.ParsePrivateKey(privPEM, nil)
	signer, _ := attest.NewKeySigner(priv)
	vsaPath, bundlePath := filepath.Join(dir, "vsa.json"), filepath.Join(dir, "bundle.json")
	w := &vsaWriter{signer: signer, out: vsaPath, summary: verify.Summary{VerifierID: "https://v.example", ResourceURI: "https://r.example", PolicyURI: "data:,{}"}}
	verified := []byte(`{"the":"bundle that was verified"}`)
	if err := os.WriteFile(bundlePath, []byte(`{"another":"file, swapped in since"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	outcome := &rebuildOutcome{Recorded: &attest.RecordedBuild{Subjects: []attest.Subject{{Name: "x", SHA256: strings.Repeat("a", 64)}}}}
	if err := writeRebuildVSA(context.Background(), w, bundlePath, verified, outcome); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(vsaPath)
	var env struct{ Payload string }
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	payload, _ := base64.StdEncoding.DecodeString(env.Payload)
	sum := sha256.Sum256(verified)
	if !strings.Contains(string(payload), hex.EncodeToString(sum[:])) {
		t.Errorf("the VSA does not name the verified bytes' digest:\n%s", payload)
	}
}
