// Command ociregistry serves an OCI registry with the OCI 1.1 referrers API
// (GET /v2/<name>/referrers/<digest>) on one address, for slsabox's tests
// (scripts/registry.sh start-oci). It is go-containerregistry's registry
// (pkg/registry, what `crane registry serve` runs) with referrers turned on and blobs
// on disk; manifests live in memory and are gone when it stops.
//
// Neither Debian's docker-registry (2.8) nor github.com/distribution/distribution/v3
// (v3.1.2, the newest on the module proxy) serves the referrers API: both keep
// referrers in the tag schema only.
//
//	ociregistry -addr 127.0.0.1:5016 -blobs DIR
package main

import (
	"errors"
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:5016", "address to listen on (loopback only)")
	blobs := flag.String("blobs", "", "directory for blobs (required)")
	quiet := flag.Bool("quiet", false, "log no requests")
	flag.Parse()
	if *blobs == "" {
		log.Fatal("ociregistry: -blobs DIR is required")
	}
	host, _, err := net.SplitHostPort(*addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		log.Fatalf("ociregistry: -addr %s: give a loopback IP and port, like 127.0.0.1:5016: it serves without auth", *addr)
	}
	if err := os.MkdirAll(*blobs, 0o700); err != nil {
		log.Fatal(err)
	}
	opts := []registry.Option{registry.WithReferrersSupport(true), registry.WithBlobHandler(registry.NewDiskBlobHandler(*blobs))}
	if *quiet {
		opts = append(opts, registry.Logger(log.New(discard{}, "", 0)))
	}
	srv := &http.Server{Addr: *addr, Handler: registry.New(opts...), ReadHeaderTimeout: 10 * time.Second}
	log.Printf("ociregistry: serving on http://%s, blobs in %s", *addr, *blobs)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
