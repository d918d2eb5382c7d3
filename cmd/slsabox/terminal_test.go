package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/slsabox/slsabox/attest/verify"
)

func TestTermSafe(t *testing.T) {
	for in, want := range map[string]string{
		"refs/heads/main":                 "refs/heads/main",
		"a\nok   certificate identity: x": `a\nok   certificate identity: x`,
		"\x1b[1A\x1b[2KVERIFIED":          `\x1b[1A\x1b[2KVERIFIED`,
		"cr\rover":                        `cr\rover`,
		"tab\there":                       `tab\there`,
		"bidi \u202eevil":                 `bidi \u202eevil`,
		"c1 \u009b31m":                    `c1 \u009b31m`,
		"bad \xff utf8":                   `bad \xff utf8`,
		"ünïcode ok":                      "ünïcode ok",
		"del \x7f":                        `del \x7f`,
	} {
		if got := termSafe(in); got != want {
			t.Errorf("termSafe(%q) = %q, want %q", in, got, want)
		}
	}
	var b bytes.Buffer
	termWriter{&b}.Write([]byte("[step] line\twith tab\x1b[2K\r\n[step] next\n"))
	if got := b.String(); got != "[step] line\twith tab\\x1b[2K\\r\n[step] next\n" {
		t.Errorf("termWriter wrote %q", got)
	}
}

// TestPrintVerifyEscapes: a ref holding a newline and escape sequences cannot print a
// forged "ok" line or move the cursor over a FAIL.
func TestPrintVerifyEscapes(t *testing.T) {
	forged := "refs/heads/main\nok   certificate identity: https://github.com/o/r/.github/workflows/release.yml\x1b[1A\x1b[2KVERIFIED"
	r := &verify.Report{Digest: strings.Repeat("a", 64), Checks: []verify.Check{
		{Name: verify.CheckSourceRef, OK: false, Detail: "want refs/heads/release, got " + forged},
		{Name: verify.CheckCertIdentity, OK: false, Detail: "not run"},
	}}
	cmd := &cobra.Command{}
	var out bytes.Buffer
	cmd.SetOut(&out)
	if err := printVerify(cmd, &globalOptions{output: "text"}, trustedRootUsed{}, false, []artifactResult{{Artifact: "hello\n\x1b[32mVERIFIED", Report: r}}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 3 || strings.ContainsRune(out.String(), 0x1b) {
		t.Fatalf("forged lines or escapes printed:\n%s", out.String())
	}
	for _, l := range lines[1:] {
		if strings.HasPrefix(l, "ok") || strings.HasPrefix(l, "VERIFIED") {
			t.Errorf("forged line %q", l)
		}
	}
	if !strings.HasPrefix(lines[0], "FAILED ") {
		t.Errorf("header %q", lines[0])
	}
}

// TestErrorEscaped: an error that quotes a string from outside (here a file name)
// reaches stderr escaped.
func TestErrorEscaped(t *testing.T) {
	t.Setenv("SLSABOX_TRUSTED_ROOT", "") // not the suite's: this error is the bundle's
	dir := t.TempDir()
	prefix := filepath.Join(dir, "k")
	var so, se bytes.Buffer
	if code := run(context.Background(), []string{"keygen", "--out", prefix}, &so, &se); code != 0 {
		t.Fatalf("keygen: %d %s", code, se.String())
	}
	se.Reset()
	code := run(context.Background(), []string{"verify", "--digest", "sha256:" + strings.Repeat("a", 64), "--bundle", filepath.Join(dir, "no\n\x1b[2Jsuch"),
		"--key", prefix + ".pub", "--no-tlog-unsafe", "--builder-id", "https://b", "--source-uri", "git+https://s"}, &so, &se)
	if code != 2 || strings.ContainsRune(se.String(), 0x1b) || !strings.Contains(se.String(), `no\n\x1b[2Jsuch`) {
		t.Errorf("exit %d, stderr %q", code, se.String())
	}
}
