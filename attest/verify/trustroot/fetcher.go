package trustroot

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/fetcher"
)

// dialTimeout bounds name resolution plus the TCP connection: an unreachable network
// (no route, a black hole, a dead resolver) costs this much, then the fallback.
const dialTimeout = 300 * time.Millisecond

// httpFetcher is go-tuf's Fetcher with a context and short timeouts: go-tuf's default
// uses http.DefaultClient, which waits on a dead network as long as the kernel does.
type httpFetcher struct {
	ctx    context.Context // Load's, bounded by its refresh timeout
	client *http.Client
}

var _ fetcher.Fetcher = (*httpFetcher)(nil)

func newHTTPFetcher(ctx context.Context) *httpFetcher {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyFromEnvironment
	tr.DialContext = (&net.Dialer{Timeout: dialTimeout}).DialContext
	tr.TLSHandshakeTimeout = time.Second
	return &httpFetcher{ctx: ctx, client: &http.Client{Transport: tr}}
}

// DownloadFile gets url, refusing more than maxLength bytes. A status other than 200
// is a *metadata.ErrDownloadHTTP, which go-tuf needs: a 404 on the next root version
// is how it learns that the root it has is the newest.
func (f *httpFetcher) DownloadFile(url string, maxLength int64, _ time.Duration) ([]byte, error) {
	req, err := http.NewRequestWithContext(f.ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "slsabox")
	res, err := f.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, &metadata.ErrDownloadHTTP{StatusCode: res.StatusCode, URL: url}
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, maxLength+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > maxLength {
		return nil, &metadata.ErrDownloadLengthMismatch{Msg: fmt.Sprintf("download of %s is larger than the %d bytes expected", url, maxLength)}
	}
	return data, nil
}
