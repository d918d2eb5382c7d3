// Package stats holds what the benchmarks share: medians, millisecond formatting, and
// a synthetic build result to sign.
package stats

import (
	"fmt"
	"slices"
	"time"

	"github.com/slsabox/slsabox/attest"
)

// Median of d (the mean of the middle two for an even count): durations or seconds.
func Median[T ~int64 | ~float64](d []T) T {
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// MS prints d in milliseconds with one decimal.
func MS(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }

// Result describes a build with one subject of the given sha256 (hex), for signing benchmarks.
func Result(sum string) *attest.Build {
	t0 := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	return &attest.Build{
		Definition: attest.Definition{Path: "slsabox.yaml", SHA256: sum, Content: "version: 1\n"},
		Source:     attest.Source{URI: "git+https://example.org/r", Commit: "0123456789abcdef0123456789abcdef01234567", Ref: "refs/heads/main"},
		Image:      attest.Image{Ref: "example.org/img@sha256:" + sum, Digest: "sha256:" + sum, ManifestDigest: "sha256:" + sum, Platform: "linux/amd64"},
		Subjects:   []attest.Subject{{Name: "artifact", SHA256: sum}},
		StartedOn:  t0,
		FinishedOn: t0.Add(time.Minute),
		LogSHA256:  sum,
	}
}
