package main

import (
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/slsabox/slsabox/attest"
)

// rekorFlags are the transparency log flags of build and upload.
type rekorFlags struct {
	url      string
	version  uint32
	timeout  time.Duration
	attempts int
}

func (r *rekorFlags) register(f *pflag.FlagSet) {
	f.StringVar(&r.url, "rekor-url", os.Getenv("SLSABOX_REKOR_URL"), "transparency log (Rekor) URL (env SLSABOX_REKOR_URL)")
	f.Uint32Var(&r.version, "rekor-version", 2, "Rekor API: 2 (rekor-tiles) or 1")
	f.DurationVar(&r.timeout, "rekor-timeout", 20*time.Second, "time limit of one upload attempt")
	f.IntVar(&r.attempts, "rekor-attempts", 4, "upload attempts before giving up (backoff 1s, doubling, with jitter)")
}

func (r *rekorFlags) client() (*attest.Rekor, error) {
	c, err := attest.NewRekor(r.url, attest.WithRekorVersion(r.version), attest.WithRekorTimeout(r.timeout),
		attest.WithRekorAttempts(r.attempts, time.Second))
	if err != nil {
		return nil, usageError{err}
	}
	return c, nil
}
