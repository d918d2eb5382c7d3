package main

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
)

// TestCommands: both builds have the commands the docs list (README, docs/verify.md):
// the verify-only build every command but build, rebuild, image and sweep, which it
// refuses as a usage error; the full build those four besides. A command moved behind
// the build tag by mistake, or one added to the full build's addBuilderCmds without a
// refusing stand-in in verifyonly.go, fails here (this file is in both builds).
func TestCommands(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("--help: exit %d\n%s", code, stderr.String())
	}
	_, list, _ := strings.Cut(stdout.String(), "Available Commands:\n")
	list, _, _ = strings.Cut(list, "\n\n")
	var got []string
	for _, l := range strings.Split(list, "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			got = append(got, f[0])
		}
	}
	builderOnly := []string{"build", "image", "rebuild", "sweep"}
	want := []string{"completion", "help", "keygen", "push", "sbom", "upload", "verify", "version"}
	if buildKind == "full" {
		want = append(want, builderOnly...)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s build: commands %q, want %q", buildKind, got, want)
	}
	if buildKind == "full" {
		return
	}
	for _, name := range builderOnly {
		stdout.Reset()
		stderr.Reset()
		code := run(context.Background(), []string{name, "--help"}, &stdout, &stderr)
		if code != exitUsage || !strings.Contains(stderr.String(), "hint: install the full slsabox") {
			t.Errorf("%s: exit %d, want %d with the hint to install the full slsabox\n%s", name, code, exitUsage, stderr.String())
		}
	}
}
