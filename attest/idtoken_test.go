package attest

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func b64url(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestReadIdentityToken(t *testing.T) {
	good := "eyJhbGciOiJFUzI1NiJ9." + b64url(`{"iss":"https://issuer.example","sub":"x","exp":4102444800}`) + ".c2ln"
	expired := "eyJhbGciOiJFUzI1NiJ9." + b64url(`{"iss":"https://issuer.example","sub":"x","exp":1000}`) + ".c2ln"
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(good+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, arg string
		ok        bool
	}{
		{"value", good, true},
		{"file", "@" + file, true},
		{"missing file", "@" + file + ".nope", false},
		{"empty", "  ", false},
		{"not a jwt", "abc.def", false},
		{"no issuer", "e30." + b64url(`{"sub":"x"}`) + ".c2ln", false},
		{"claims not json", "e30." + b64url(`nope`) + ".c2ln", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := ReadIdentityToken(tt.arg)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrIdentityToken) {
				t.Errorf("err = %v, not ErrIdentityToken", err)
			}
			if tt.ok {
				if got, err := tok.Token(context.Background()); err != nil || got != good {
					t.Errorf("Token() = %q, %v", got, err)
				}
			}
		})
	}
	tok, err := ReadIdentityToken(expired)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tok.Token(context.Background()); !errors.Is(err, ErrIdentityToken) {
		t.Errorf("an expired token: err = %v", err)
	}
}

// TestGitHubActionsToken speaks GitHub's token request to a stand-in endpoint (a unit
// test of the client; the keyless integration tests use the real local issuer).
func TestGitHubActionsToken(t *testing.T) {
	good := "eyJhbGciOiJFUzI1NiJ9." + b64url(`{"iss":"https://token.actions.githubusercontent.com"}`) + ".c2ln"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Header.Get("Authorization") != "bearer s3cret":
			http.Error(w, "bad bearer", http.StatusUnauthorized)
		case r.URL.Query().Get("audience") != "sigstore" || r.URL.Query().Get("api-version") != "2.0":
			http.Error(w, "bad query "+r.URL.RawQuery, http.StatusBadRequest)
		default:
			_, _ = w.Write([]byte(`{"count":1,"value":"` + good + `"}`))
		}
	}))
	defer srv.Close()
	got, err := (&GitHubActionsToken{RequestURL: srv.URL + "/token?api-version=2.0", RequestToken: "s3cret"}).Token(context.Background())
	if err != nil || got != good {
		t.Fatalf("Token() = %q, %v", got, err)
	}
	if _, err := (&GitHubActionsToken{RequestURL: srv.URL + "/token?api-version=2.0", RequestToken: "nope"}).Token(context.Background()); !errors.Is(err, ErrIdentityToken) {
		t.Errorf("a refused request: err = %v", err)
	}
	if _, err := (&GitHubActionsToken{RequestURL: "http://127.0.0.1:1/token", RequestToken: "s3cret"}).Token(context.Background()); !errors.Is(err, ErrIdentityTokenUnavailable) {
		t.Errorf("an unreachable endpoint: err = %v, want ErrIdentityTokenUnavailable", err)
	}
	t.Setenv(GitHubTokenURLEnv, "")
	if _, ok := GitHubActionsTokenFromEnv(); ok {
		t.Error("GitHubActionsTokenFromEnv found variables that are not set")
	}
}

// FuzzReadIdentityToken: any input is accepted as a token only if it is a JWT whose
// claims name an issuer, every refusal wraps ErrIdentityToken, and nothing panics.
func FuzzReadIdentityToken(f *testing.F) {
	f.Add("eyJhbGciOiJFUzI1NiJ9." + b64url(`{"iss":"https://issuer.example","exp":4102444800}`) + ".c2ln")
	f.Add("a.b.c")
	f.Add("..")
	f.Add("e30.e30.")
	f.Add("@")
	f.Fuzz(func(t *testing.T, s string) {
		if strings.HasPrefix(s, "@") {
			return // a file name: not what this fuzzes
		}
		tok, err := ReadIdentityToken(s)
		if err != nil {
			if !errors.Is(err, ErrIdentityToken) {
				t.Fatalf("err %v does not wrap ErrIdentityToken", err)
			}
			return
		}
		c, err := parseJWTClaims(string(tok))
		if err != nil || c.Iss == "" || strings.Count(string(tok), ".") != 2 {
			t.Fatalf("accepted %q without an issuer: %v", tok, err)
		}
	})
}
