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

// HTTPSUnless returns next refusing plain HTTP except to those of registries
// (HOST[:PORT], as named) that are on loopback: go-containerregistry falls back to HTTP
// for RFC 1918 addresses and *.local names, where someone on the network could answer
// instead, and follows redirects, which would let a remote registry send requests to
// a service on this machine.
func HTTPSUnless(next http.RoundTripper, registries ...string) http.RoundTripper {
	t := httpsUnless{next: next, plain: map[string]bool{}}
	for _, r := range registries {
		if Is(r) {
			t.plain[r] = true
		}
	}
	return t
}

type httpsUnless struct {
	next  http.RoundTripper
	plain map[string]bool
}

func (t httpsUnless) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" && !t.plain[req.URL.Host] {
		return nil, fmt.Errorf("refusing plain %s to %s: only the registry named, on loopback, is spoken to without TLS", req.URL.Scheme, req.URL.Host)
	}
	return t.next.RoundTrip(req)
}
