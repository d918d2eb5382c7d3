// Package loopback tells registries on this machine from the others: slsabox speaks
// plain HTTP to the former only (tests and local mirrors), HTTPS to everything else.
package loopback

import (
	"net"
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
