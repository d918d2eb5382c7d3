package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestInitCost keeps slsabox's own packages cheap to initialize: every command, and
// `slsabox verify` above all, pays for each package-level regexp or table at every
// start (docs/performance.md). A package of ours that allocates more than 4 KiB in its
// init functions (a regexp.MustCompile at package level allocates tens of KiB) fails;
// make it lazy (sync.OnceValue, builder's lazyRegexp).
func TestInitCost(t *testing.T) {
	if os.Getenv("SLSABOX_INIT_CHILD") == "1" {
		return
	}
	// This test binary links every package the command does.
	cmd := exec.Command(os.Args[0], "-test.run=^TestInitCost$")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1", "SLSABOX_INIT_CHILD=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	seen := 0
	sc := bufio.NewScanner(&stderr)
	for sc.Scan() {
		// init PKG @T ms, T ms clock, N bytes, N allocs
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[0] != "init" || !strings.HasPrefix(f[1], "github.com/slsabox/slsabox/") || strings.HasSuffix(f[1], ".test") {
			continue
		}
		seen++
		if n, err := strconv.Atoi(f[7]); err != nil || n > 4096 {
			t.Errorf("package %s allocates %s bytes in its init: make its package-level values lazy", f[1], f[7])
		}
	}
	if seen == 0 {
		t.Fatalf("no init trace of slsabox's packages:\n%s", stderr.String())
	}
}
