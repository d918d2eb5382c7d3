package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log"
	"math/big"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// claimNames are the GitHub Actions claims a token carries besides iss, aud, sub and
// the times, in the order -help lists them. Each is a flag and a query parameter.
var claimNames = []string{
	"repository", "repository_owner", "repository_id", "repository_owner_id", "repository_visibility",
	"ref", "ref_type", "sha", "workflow", "workflow_ref", "workflow_sha", "job_workflow_ref", "job_workflow_sha",
	"runner_environment", "event_name", "run_id", "run_number", "run_attempt", "actor", "actor_id",
	"environment", "head_ref", "base_ref",
}

// derived claims follow others unless set: the owner from the repository, the
// workflow refs from the repository, workflow file and ref.
func defaultClaims() map[string]string {
	return map[string]string{
		"repository":            "slsabox/demo",
		"repository_id":         "100001",
		"repository_owner_id":   "100000",
		"repository_visibility": "public",
		"ref":                   "refs/heads/main",
		"ref_type":              "branch",
		"sha":                   "0000000000000000000000000000000000000000",
		"workflow":              "release",
		"workflow_sha":          "",
		"job_workflow_sha":      "",
		"runner_environment":    "github-hosted",
		"event_name":            "push",
		"run_id":                "1",
		"run_number":            "1",
		"run_attempt":           "1",
		"actor":                 "octocat",
		"actor_id":              "1",
		"environment":           "",
		"head_ref":              "",
		"base_ref":              "",
		"workflow_path":         ".github/workflows/release.yml",
	}
}

// flagName turns a claim into a flag: job_workflow_ref -> -job-workflow-ref.
func flagName(claim string) string { return strings.ReplaceAll(claim, "_", "-") }

type issuer struct {
	url          string
	requestToken string
	lifetime     time.Duration
	defaults     map[string]string
	key          *ecdsa.PrivateKey
	kid          string
	serial       atomic.Int64
}

func newIssuer(url, requestToken string, lifetime time.Duration, defaults map[string]string) (*issuer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(append(key.X.Bytes(), key.Y.Bytes()...))
	return &issuer{url: strings.TrimSuffix(url, "/"), requestToken: requestToken, lifetime: lifetime,
		defaults: defaults, key: key, kid: base64.RawURLEncoding.EncodeToString(sum[:8])}, nil
}

func (i *issuer) handler(logger *log.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]any{
			"issuer":                                i.url,
			"jwks_uri":                              i.url + "/.well-known/jwks",
			"response_types_supported":              []string{"id_token"},
			"subject_types_supported":               []string{"public", "pairwise"},
			"id_token_signing_alg_values_supported": []string{"ES256"},
			"scopes_supported":                      []string{"openid"},
			"claims_supported":                      append([]string{"sub", "aud", "exp", "iat", "iss", "jti", "nbf"}, claimNames...),
		})
	})
	mux.HandleFunc("GET /.well-known/jwks", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]any{"keys": []map[string]string{{
			"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": i.kid,
			"x": b64(i.key.X.FillBytes(make([]byte, 32))), "y": b64(i.key.Y.FillBytes(make([]byte, 32))),
		}}})
	})
	mux.HandleFunc("GET /token", func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		scheme, secret, _ := strings.Cut(auth, " ")
		if !strings.EqualFold(scheme, "bearer") || subtle.ConstantTimeCompare([]byte(secret), []byte(i.requestToken)) != 1 {
			http.Error(w, `{"message":"Unable to get ACTIONS_ID_TOKEN_REQUEST_URL env variable or bad bearer token"}`, http.StatusUnauthorized)
			return
		}
		q := r.URL.Query()
		claims, err := i.claims(q.Get("audience"), q)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		tok, err := i.sign(claims)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		logger.Printf("token for %s@%s (%s, audience %v)", claims["repository"], claims["ref"], claims["runner_environment"], claims["aud"])
		writeJSON(w, map[string]any{"count": len(tok), "value": tok})
	})
	return mux
}

// claims builds a token's claims: the defaults, overridden by query parameters.
func (i *issuer) claims(audience string, q map[string][]string) (map[string]any, error) {
	if audience == "" {
		audience = "https://github.com/" + i.value("repository_owner", q)
	}
	c := map[string]any{}
	for _, name := range claimNames {
		c[name] = i.value(name, q)
	}
	for name := range q {
		if _, known := c[name]; !known && name != "audience" && name != "api-version" && name != "workflow_path" {
			return nil, fmt.Errorf("unknown claim %q: use one of %s", name, strings.Join(claimNames, ", "))
		}
	}
	repo, ok := c["repository"].(string)
	if !ok || !strings.Contains(repo, "/") {
		return nil, fmt.Errorf("repository %q is not OWNER/NAME", c["repository"])
	}
	now := time.Now()
	c["iss"] = i.url
	c["aud"] = audience
	c["sub"] = fmt.Sprintf("repo:%s:ref:%s", repo, c["ref"])
	c["jti"] = fmt.Sprintf("slsabox-test-%d-%d", now.UnixNano(), i.serial.Add(1))
	c["iat"] = now.Unix()
	c["nbf"] = now.Add(-5 * time.Second).Unix()
	c["exp"] = now.Add(i.lifetime).Unix()
	return c, nil
}

// value is a claim's value for one request: the query's, else the default, else derived.
func (i *issuer) value(name string, q map[string][]string) string {
	if v, ok := q[name]; ok && len(v) > 0 {
		return v[0]
	}
	if v := i.defaults[name]; v != "" || name == "environment" || name == "head_ref" || name == "base_ref" {
		return v
	}
	repo := i.value("repository", q)
	switch name {
	case "repository_owner":
		owner, _, _ := strings.Cut(repo, "/")
		return owner
	case "workflow_ref", "job_workflow_ref":
		return repo + "/" + i.value("workflow_path", q) + "@" + i.value("ref", q)
	case "workflow_sha", "job_workflow_sha":
		return i.value("sha", q)
	}
	return ""
}

// sign makes a compact JWS (ES256) over the claims.
func (i *issuer) sign(claims map[string]any) (string, error) {
	header, err := json.Marshal(map[string]string{"alg": "ES256", "typ": "JWT", "kid": i.kid})
	if err != nil {
		return "", err
	}
	body, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signing := b64(header) + "." + b64(body)
	digest := sha256.Sum256([]byte(signing))
	r, s, err := ecdsa.Sign(rand.Reader, i.key, digest[:])
	if err != nil {
		return "", err
	}
	sig := append(fixed(r), fixed(s)...)
	return signing + "." + b64(sig), nil
}

func fixed(n *big.Int) []byte { return n.FillBytes(make([]byte, 32)) }

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
