package attest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// TokenSource gives the OIDC identity token Fulcio certifies.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// GitHub Actions' token request variables, set in a job with "permissions: id-token: write".
const (
	GitHubTokenURLEnv   = "ACTIONS_ID_TOKEN_REQUEST_URL"
	GitHubTokenTokenEnv = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
)

// SigstoreAudience is the audience Fulcio wants in tokens.
const SigstoreAudience = "sigstore"

// GitHubActionsToken asks GitHub Actions for a job's ID token: GET the request URL
// with &audience=sigstore and the header "Authorization: bearer REQUEST_TOKEN"; the
// token is the answer's "value".
type GitHubActionsToken struct {
	RequestURL   string
	RequestToken string
	Client       *http.Client // default: a 30s timeout
}

var _ TokenSource = (*GitHubActionsToken)(nil)

// GitHubActionsTokenFromEnv returns the token source of a GitHub Actions job, and
// false when the variables are not set (not in Actions, or no id-token: write).
func GitHubActionsTokenFromEnv() (*GitHubActionsToken, bool) {
	u, t := os.Getenv(GitHubTokenURLEnv), os.Getenv(GitHubTokenTokenEnv)
	if u == "" || t == "" {
		return nil, false
	}
	return &GitHubActionsToken{RequestURL: u, RequestToken: t}, true
}

// Token performs the request.
func (g *GitHubActionsToken) Token(ctx context.Context) (string, error) {
	u, err := url.Parse(g.RequestURL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("%w: %s %q is not a URL", ErrIdentityToken, GitHubTokenURLEnv, g.RequestURL)
	}
	q := u.Query()
	q.Set("audience", SigstoreAudience)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrIdentityToken, err)
	}
	req.Header.Set("Authorization", "bearer "+g.RequestToken)
	req.Header.Set("Accept", "application/json")
	client := g.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(req) // #nosec G704 -- the URL is the CI's own token endpoint
	if err != nil {
		return "", fmt.Errorf("%w: requesting the GitHub Actions ID token: %w", ErrIdentityTokenUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("%w: reading the GitHub Actions ID token: %w", ErrIdentityToken, err)
	}
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		return "", fmt.Errorf("%w: the GitHub Actions token endpoint answered %s: %s", ErrIdentityTokenUnavailable, resp.Status, firstLine(body))
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%w: the GitHub Actions token endpoint answered %s: %s", ErrIdentityToken, resp.Status, firstLine(body))
	}
	var v struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.Value == "" {
		return "", fmt.Errorf("%w: the GitHub Actions token endpoint answered without a token (%s)", ErrIdentityToken, firstLine(body))
	}
	if _, err := parseJWTClaims(v.Value); err != nil {
		return "", err
	}
	return v.Value, nil
}

// StaticToken is an ID token given as such (--identity-token, from another CI).
type StaticToken string

// Token returns the token after checking that it is a JWT that has not expired.
func (s StaticToken) Token(context.Context) (string, error) {
	c, err := parseJWTClaims(string(s))
	if err != nil {
		return "", err
	}
	if c.Exp != 0 && time.Unix(c.Exp, 0).Before(time.Now()) {
		return "", fmt.Errorf("%w: the token expired at %s: get a fresh one right before signing", ErrIdentityToken,
			time.Unix(c.Exp, 0).UTC().Format(time.RFC3339))
	}
	return string(s), nil
}

// ReadIdentityToken reads --identity-token: the token itself, or @FILE to read it from
// a file (so that it stays out of the process list). Surrounding space is dropped.
func ReadIdentityToken(arg string) (StaticToken, error) {
	tok := arg
	if name, ok := strings.CutPrefix(arg, "@"); ok {
		b, err := os.ReadFile(name)
		if err != nil {
			return "", fmt.Errorf("%w: %w", ErrIdentityToken, err)
		}
		tok = string(b)
	}
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return "", fmt.Errorf("%w: the identity token is empty", ErrIdentityToken)
	}
	if _, err := parseJWTClaims(tok); err != nil {
		return "", err
	}
	return StaticToken(tok), nil
}

// jwtClaims are the few claims slsabox reads, unverified (Fulcio verifies the token).
type jwtClaims struct {
	Iss string `json:"iss"`
	Sub string `json:"sub"`
	Exp int64  `json:"exp"`
}

func parseJWTClaims(tok string) (*jwtClaims, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: not a JWT (want three dot-separated parts, got %d)", ErrIdentityToken, len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, fmt.Errorf("%w: the JWT's claims are not base64url: %w", ErrIdentityToken, err)
	}
	var c jwtClaims
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("%w: the JWT's claims are not JSON: %w", ErrIdentityToken, err)
	}
	if c.Iss == "" {
		return nil, fmt.Errorf("%w: the JWT has no issuer (iss)", ErrIdentityToken)
	}
	return &c, nil
}

func firstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
