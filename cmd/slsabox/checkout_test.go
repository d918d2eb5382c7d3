//go:build !slsabox_verifyonly

package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/slsabox/slsabox/builder"
)

// TestCheckCheckout: in GitHub Actions, the repository and ref of the environment are
// recorded only for a checkout of that repository at GITHUB_SHA.
func TestCheckCheckout(t *testing.T) {
	sha := strings.Repeat("a", 40)
	t.Setenv("GITHUB_ACTIONS", "true")
	t.Setenv("GITHUB_SERVER_URL", "https://github.com")
	t.Setenv("GITHUB_REPOSITORY", "o/r")
	t.Setenv("GITHUB_REF", "refs/heads/main")
	t.Setenv("GITHUB_SHA", sha)
	for _, tc := range []struct {
		name   string
		src    builder.Source
		o      buildOptions
		refuse string
	}{
		{"the workflow's commit and repository", builder.Source{Commit: sha, RemoteURL: "https://github.com/o/r"}, buildOptions{}, ""},
		{"origin spelt with .git and capitals", builder.Source{Commit: sha, RemoteURL: "https://github.com/O/R.git"}, buildOptions{}, ""},
		{"checkout of another ref", builder.Source{Commit: strings.Repeat("b", 40), RemoteURL: "https://github.com/o/r"}, buildOptions{}, "not at GITHUB_SHA"},
		{"another ref, named with --source-ref", builder.Source{Commit: strings.Repeat("b", 40), RemoteURL: "https://github.com/o/r"}, buildOptions{sourceRef: "refs/heads/feature"}, ""},
		{"checkout of another repository", builder.Source{Commit: sha, RemoteURL: "https://github.com/evil/r"}, buildOptions{}, "is not GITHUB_REPOSITORY's"},
		{"another repository, named with --source-uri", builder.Source{Commit: sha, RemoteURL: "https://github.com/evil/r"}, buildOptions{sourceURI: "git+https://github.com/evil/r"}, ""},
		{"no origin", builder.Source{Commit: sha, RepoRoot: "/w"}, buildOptions{}, "is not GITHUB_REPOSITORY's"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkCheckout(ciIdentity(), &tc.o, &tc.src)
			if tc.refuse == "" {
				if err != nil {
					t.Errorf("refused: %v", err)
				}
				return
			}
			var u usageError
			if !errors.As(err, &u) || !strings.Contains(err.Error(), tc.refuse) {
				t.Errorf("err = %v, want a usage error saying %q", err, tc.refuse)
			}
		})
	}
	// Outside GitHub Actions nothing comes from the environment.
	t.Setenv("GITHUB_ACTIONS", "")
	if err := checkCheckout(ciIdentity(), &buildOptions{}, &builder.Source{Commit: strings.Repeat("b", 40), RepoRoot: "/w"}); err != nil {
		t.Errorf("outside GitHub Actions: %v", err)
	}
}
