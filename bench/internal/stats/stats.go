// Package stats holds what the benchmarks share: medians, millisecond formatting, and
// a synthetic build result to sign.
package stats

import (
	"fmt"
	"slices"
	"time"

	"github.com/slsabox/slsabox/builder"
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

// Result is a build result with one subject of the given sha256 (hex), for signing benchmarks.
func Result(sum string) *builder.Result {
	t0 := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	return &builder.Result{
		BuildID:    "bench",
		Definition: builder.DefinitionInfo{Path: "slsabox.yaml", SHA256: sum, Content: "version: 1\n"},
		Source:     &builder.Source{RepoRoot: "/src", Commit: "0123456789abcdef0123456789abcdef01234567", Ref: "refs/heads/main", RemoteURL: "https://example.org/r.git", CommitTime: t0},
		Image:      &builder.ResolvedImage{Ref: "example.org/img@sha256:" + sum, Digest: "sha256:" + sum, ManifestDigest: "sha256:" + sum, Platform: "linux/amd64"},
		Subjects:   []builder.Subject{{Name: "artifact", SHA256: sum}},
		StartedOn:  t0,
		FinishedOn: t0.Add(time.Minute),
		LogSHA256:  sum,
	}
}
