// Package loopback tells registries on this machine from the others: slsabox speaks
// plain HTTP to the former only (tests and local mirrors), HTTPS to everything else.
package loopback

import (
	"fmt"
	"net"
	"net/http"
	"strings"
)

// Is reports whether host (HOST, HOST:PORT, [IPv6]:PORT) is this machine:
// localhost or a loopback address.
func Is(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// HTTPSUnless returns next refusing plain HTTP to anything but loopback:
// go-containerregistry falls back to HTTP for RFC 1918 addresses and *.local names
// (and follows redirects to HTTP), where someone on the network could answer instead.
func HTTPSUnless(next http.RoundTripper) http.RoundTripper { return httpsUnless{next} }

type httpsUnless struct{ next http.RoundTripper }

func (t httpsUnless) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" && !Is(req.URL.Host) {
		return nil, fmt.Errorf("refusing plain %s to %s: only registries on loopback are spoken to without TLS", req.URL.Scheme, req.URL.Host)
	}
	return t.next.RoundTrip(req)
}
