package ociref

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/slsabox/slsabox/internal/loopback"
)

// guard refuses plain HTTP to anything but loopback (go-containerregistry would
// also speak it to RFC 1918 and .local names, and follow a redirect to it) and
// caps every response body, so that a hostile registry can make Find read only
// so much.
type guard struct {
	base     http.RoundTripper
	maxBody  int64
	registry string // HOST[:PORT] as named: the only one plain HTTP may go to, if on loopback
}

var errBodyTooLarge = errors.New("response larger than slsabox reads from a registry")

func (g guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" && !(loopback.Is(g.registry) && req.URL.Host == g.registry) {
		return nil, fmt.Errorf("%w: refusing plain %s to %s: only registries on loopback are reached without TLS", ErrReference, req.URL.Scheme, req.URL.Host)
	}
	resp, err := g.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &cappedBody{rc: resp.Body, left: g.maxBody}
	return resp, nil
}

type cappedBody struct {
	rc   io.ReadCloser
	left int64
}

func (c *cappedBody) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// One byte more tells a body of exactly the cap from a larger one.
		var one [1]byte
		n, err := c.rc.Read(one[:])
		if n > 0 {
			return 0, errBodyTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.rc.Read(p)
	c.left -= int64(n)
	return n, err
}

func (c *cappedBody) Close() error { return c.rc.Close() }
