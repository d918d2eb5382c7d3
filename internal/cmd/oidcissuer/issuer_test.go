package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func newTestServer(t *testing.T) (*httptest.Server, *issuer) {
	t.Helper()
	iss, err := newIssuer("http://issuer.test", "secret", time.Minute, defaultClaims())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(iss.handler(log.New(io.Discard, "", 0)))
	t.Cleanup(srv.Close)
	return srv, iss
}

func get(t *testing.T, url, bearer string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestTokenVerifiesWithJWKS checks a token against the published key, as Fulcio does,
// and that query parameters override claims.
func TestTokenVerifiesWithJWKS(t *testing.T) {
	srv, _ := newTestServer(t)
	code, body := get(t, srv.URL+"/token?api-version=2.0&audience=sigstore&runner_environment=self-hosted&repository=other/repo", "secret")
	if code != 200 {
		t.Fatalf("token: %d %s", code, body)
	}
	var tok struct{ Value string }
	if err := json.Unmarshal(body, &tok); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok.Value, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", tok.Value)
	}
	_, jwksBody := get(t, srv.URL+"/.well-known/jwks", "")
	var jwks struct{ Keys []map[string]string }
	if err := json.Unmarshal(jwksBody, &jwks); err != nil || len(jwks.Keys) != 1 {
		t.Fatalf("jwks: %s", jwksBody)
	}
	x, _ := base64.RawURLEncoding.DecodeString(jwks.Keys[0]["x"])
	y, _ := base64.RawURLEncoding.DecodeString(jwks.Keys[0]["y"])
	pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)}
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if len(sig) != 64 || !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Fatal("token signature does not verify with the JWKS key")
	}
	tampered := []byte(parts[0] + "." + parts[1] + "x")
	d2 := sha256.Sum256(tampered)
	if ecdsa.Verify(pub, d2[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Fatal("a tampered token verifies")
	}
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{
		"iss": "http://issuer.test", "aud": "sigstore", "repository": "other/repo", "repository_owner": "other",
		"runner_environment": "self-hosted", "sub": "repo:other/repo:ref:refs/heads/main",
		"job_workflow_ref": "other/repo/.github/workflows/release.yml@refs/heads/main",
	} {
		if claims[k] != want {
			t.Errorf("claim %s = %v, want %v", k, claims[k], want)
		}
	}
}

func TestTokenRefusals(t *testing.T) {
	srv, _ := newTestServer(t)
	for _, tc := range []struct {
		name, query, bearer string
		code                int
	}{
		{"no bearer", "?audience=sigstore", "", 401},
		{"wrong bearer", "?audience=sigstore", "nope", 401},
		{"unknown claim", "?audience=sigstore&colour=red", "secret", 400},
		{"bad repository", "?audience=sigstore&repository=norepo", "secret", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, body := get(t, srv.URL+"/token"+tc.query, tc.bearer); code != tc.code {
				t.Errorf("got %d (%s), want %d", code, body, tc.code)
			}
		})
	}
}

func TestDiscovery(t *testing.T) {
	srv, _ := newTestServer(t)
	_, body := get(t, srv.URL+"/.well-known/openid-configuration", "")
	var d map[string]any
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatal(err)
	}
	if d["issuer"] != "http://issuer.test" || d["jwks_uri"] != "http://issuer.test/.well-known/jwks" {
		t.Errorf("discovery: %s", body)
	}
}
