package loopback

import (
	"net/http"
	"strings"
	"testing"
)

type ok struct{}

func (ok) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200}, nil
}

// TestHTTPSUnless: plain HTTP goes only to a registry named, and only if it is on
// loopback; not to another local port a registry redirects to, nor to a private address.
func TestHTTPSUnless(t *testing.T) {
	tr := HTTPSUnless(ok{}, "127.0.0.1:5005", "10.0.0.1:5000", "ghcr.io")
	for url, allowed := range map[string]bool{
		"http://127.0.0.1:5005/v2/":     true,
		"https://127.0.0.1:5005/v2/":    true,
		"https://ghcr.io/v2/":           true,
		"http://127.0.0.1:8080/admin":   false, // a redirect to another local service
		"http://10.0.0.1:5000/v2/":      false, // named, but not loopback
		"http://ghcr.io/v2/":            false,
		"http://localhost:5005/v2/":     false, // another name than the one given
		"http://registry.local:5000/v2": false,
	} {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		_, err := tr.RoundTrip(req)
		if allowed != (err == nil) {
			t.Errorf("%s: err = %v, want allowed %v", url, err, allowed)
		}
		if err != nil && !strings.Contains(err.Error(), "refusing plain") {
			t.Errorf("%s: %v", url, err)
		}
	}
}
