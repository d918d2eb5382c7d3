package testenv

import (
	"net/http"
	"os"
	"testing"
	"time"
)

// KeylessStack is the local keyless signing stack of scripts/keyless.sh, reached from
// inside its network namespace.
type KeylessStack struct {
	FulcioURL   string // Fulcio
	TSAURL      string // the timestamp authority's timestamp endpoint
	RekorURL    string // Rekor v2
	TrustedRoot string // trusted_root.json with the CA, the TSA and the log
	Issuer      string // the test OIDC issuer's URL (the certificates' issuer)
	TokenURL    string // GitHub's ACTIONS_ID_TOKEN_REQUEST_URL, served by the issuer
	TokenSecret string // ACTIONS_ID_TOKEN_REQUEST_TOKEN
}

// Keyless returns the keyless stack. scripts/test.sh runs the keyless tests in a pass
// of their own inside the stack's network namespace, with the variables of
// `scripts/keyless.sh env`; the other pass sets SLSABOX_KEYLESS_LATER, and there the
// keyless tests skip, even in CI, because they run in the next pass.
func Keyless(t testing.TB) KeylessStack {
	t.Helper()
	if os.Getenv("SLSABOX_KEYLESS_LATER") != "" {
		t.Skip("the keyless tests run in the keyless pass of scripts/test.sh, inside the stack's network namespace")
	}
	s := KeylessStack{
		FulcioURL:   os.Getenv("SLSABOX_FULCIO_URL"),
		TSAURL:      os.Getenv("SLSABOX_TSA_URL"),
		RekorURL:    os.Getenv("SLSABOX_KEYLESS_REKOR_URL"),
		TrustedRoot: os.Getenv("SLSABOX_KEYLESS_TRUSTED_ROOT"),
		Issuer:      os.Getenv("SLSABOX_OIDC_ISSUER"),
		TokenURL:    os.Getenv("SLSABOX_TEST_TOKEN_URL"),
		TokenSecret: os.Getenv("SLSABOX_TEST_TOKEN_SECRET"),
	}
	for name, v := range map[string]string{"SLSABOX_FULCIO_URL": s.FulcioURL, "SLSABOX_TSA_URL": s.TSAURL,
		"SLSABOX_KEYLESS_REKOR_URL": s.RekorURL, "SLSABOX_KEYLESS_TRUSTED_ROOT": s.TrustedRoot,
		"SLSABOX_OIDC_ISSUER": s.Issuer, "SLSABOX_TEST_TOKEN_URL": s.TokenURL, "SLSABOX_TEST_TOKEN_SECRET": s.TokenSecret} {
		if v == "" {
			missing(t, "%s is not set (eval \"$(scripts/keyless.sh env)\" and run inside scripts/keyless.sh exec)", name)
		}
	}
	if _, err := os.Stat(s.TrustedRoot); err != nil {
		missing(t, "keyless trusted root: %v", err)
	}
	client := &http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get(s.FulcioURL + "/api/v1/rootCert")
	if err != nil {
		missing(t, "Fulcio at %s: %v (the keyless tests run inside the stack's network namespace: scripts/keyless.sh exec)", s.FulcioURL, err)
	}
	resp.Body.Close()
	return s
}
