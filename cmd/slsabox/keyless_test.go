package main

import (
	"testing"

	"github.com/spf13/pflag"

	"github.com/slsabox/slsabox/attest"
)

// TestKeylessWanted: keyless is the default in a GitHub Actions job that may request an
// ID token, unless a key (or --unsigned) is given; an explicit --keyless decides.
func TestKeylessWanted(t *testing.T) {
	for _, tt := range []struct {
		name     string
		inGitHub bool
		args     []string
		key      string
		unsigned bool
		want     bool
	}{
		{"plain", false, nil, "", false, false},
		{"github, no key", true, nil, "", false, true},
		{"github with a key", true, nil, "k.key", false, false},
		{"github unsigned", true, nil, "", true, false},
		{"github, --keyless=false", true, []string{"--keyless=false"}, "", false, false},
		{"--keyless", false, []string{"--keyless"}, "", false, true},
		{"--identity-token", false, []string{"--identity-token", "a.b.c"}, "", false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.inGitHub {
				t.Setenv(attest.GitHubTokenURLEnv, "http://127.0.0.1:1/token?x=1")
				t.Setenv(attest.GitHubTokenTokenEnv, "secret")
			} else {
				t.Setenv(attest.GitHubTokenURLEnv, "")
				t.Setenv(attest.GitHubTokenTokenEnv, "")
			}
			t.Setenv("SLSABOX_IDENTITY_TOKEN", "")
			var k keylessFlags
			fs := pflag.NewFlagSet("build", pflag.ContinueOnError)
			k.register(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if got := k.wanted(fs, tt.key, tt.unsigned); got != tt.want {
				t.Errorf("wanted = %v, want %v", got, tt.want)
			}
		})
	}
}
