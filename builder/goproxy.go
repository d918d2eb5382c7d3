package builder

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/slsabox/slsabox/internal/hint"
	"golang.org/x/mod/module"
)

// goProxy fetches module files with the GOPROXY protocol ($proxy/<path>/@v/<version>.mod
// and .zip), from http(s):// and file:// proxies, in the order and with the fallback
// rules of the go command: after a "," the next proxy is tried only when this one
// answered 404 or 410, after a "|" on any error.
type goProxy struct {
	raw     string
	entries []proxyEntry
	client  *http.Client
}

type proxyEntry struct {
	url        string // without a trailing slash; "direct" or "off" for those keywords
	anyFailure bool   // the separator after it was "|"
}

// errNotOnProxy: every proxy said the file does not exist.
var errNotOnProxy = errors.New("not found on any proxy")

// hostGoProxy returns the GOPROXY the host's go command uses ($GOPROXY, else
// `go env GOPROXY`, else the go command's default).
func hostGoProxy(ctx context.Context) string {
	if v := os.Getenv("GOPROXY"); v != "" {
		return v
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "env", "GOPROXY").Output(); err == nil {
		if v := strings.TrimSpace(string(out)); v != "" {
			return v
		}
	}
	return "https://proxy.golang.org,direct"
}

func parseGoProxy(s string) (*goProxy, error) {
	p := &goProxy{raw: s, client: &http.Client{Timeout: 5 * time.Minute}}
	rest := strings.TrimSpace(s)
	for rest != "" {
		i := strings.IndexAny(rest, ",|")
		item, sep := rest, byte(0)
		if i >= 0 {
			item, sep, rest = rest[:i], rest[i], rest[i+1:]
		} else {
			rest = ""
		}
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		switch {
		case item == "direct" || item == "off":
		case strings.HasPrefix(item, "https://"), strings.HasPrefix(item, "http://"), strings.HasPrefix(item, "file://"):
			if _, err := url.Parse(item); err != nil {
				return nil, hint.Wrapf(fmt.Errorf("%w: GOPROXY entry %q: %w", ErrInvalidInput, item, err), "give proxy URLs separated by ',' or '|'")
			}
			item = strings.TrimSuffix(item, "/")
		default:
			return nil, hint.Wrapf(fmt.Errorf("%w: GOPROXY entry %q is not an http(s):// or file:// URL", ErrInvalidInput, item),
				"give proxy URLs separated by ',' or '|', e.g. https://proxy.golang.org")
		}
		p.entries = append(p.entries, proxyEntry{url: item, anyFailure: sep == '|'})
	}
	usable := false
	for _, e := range p.entries {
		usable = usable || (e.url != "direct" && e.url != "off")
	}
	if !usable {
		return nil, hint.Wrapf(fmt.Errorf("%w: GOPROXY %q names no module proxy slsabox can fetch from", ErrInvalidInput, s),
			"slsabox fetches modules only from proxies (not from version control): set --goproxy https://proxy.golang.org or a file:// proxy")
	}
	return p, nil
}

// open returns the body of the module file ("mod" or "zip") from the first proxy
// that has it.
func (p *goProxy) open(ctx context.Context, m module.Version, ext string) (io.ReadCloser, string, error) {
	ep, err := module.EscapePath(m.Path)
	if err != nil {
		return nil, "", err
	}
	ev, err := module.EscapeVersion(m.Version)
	if err != nil {
		return nil, "", err
	}
	rel := ep + "/@v/" + ev + "." + ext
	var errs []string
	for _, e := range p.entries {
		if e.url == "off" {
			errs = append(errs, "off: fetching disabled")
			break
		}
		if e.url == "direct" {
			errs = append(errs, "direct: slsabox does not fetch from version control")
			break
		}
		u := e.url + "/" + rel
		body, notFound, err := p.get(ctx, u)
		if err == nil {
			return body, u, nil
		}
		errs = append(errs, err.Error())
		if !notFound && !e.anyFailure {
			return nil, u, fmt.Errorf("%w: %s", ErrEnvironment, strings.Join(errs, "; "))
		}
	}
	return nil, "", fmt.Errorf("%s@%s: %w (%s)", m.Path, m.Version, errNotOnProxy, strings.Join(errs, "; "))
}

// get fetches one URL; notFound reports a 404/410 (or a missing file for file://).
func (p *goProxy) get(ctx context.Context, u string) (io.ReadCloser, bool, error) {
	if rest, ok := strings.CutPrefix(u, "file://"); ok {
		f, err := os.Open(filepath.FromSlash(rest))
		if err != nil {
			return nil, errors.Is(err, os.ErrNotExist), err
		}
		return f, false, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, false, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, false, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		nf := resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone
		return nil, nf, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return resp.Body, false, nil
}
