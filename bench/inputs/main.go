// Command inputs measures what declared Go module inputs cost a build, side by side
// in one run, for the same go.sum:
//
//   - slsabox, warm: preparing the inputs from a warm host cache (link every module
//     go.sum pins into a fresh directory and hash it again), which every build does
//     before its first step;
//
//   - go mod download, warm: the go command on the host, with its own module cache
//     already holding the modules (it checks the .ziphash files against go.sum and
//     does not hash the contents again);
//
//   - go mod verify, warm: the go command hashing its cached modules again, the check
//     that compares with slsabox's re-hash;
//
//   - optionally (-cold) both again from empty caches, through the same GOPROXY.
//
// Runs alternate between the sides and the medians are printed.
//
//	go run ./bench/inputs -n 10 examples/go-deps .
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/slsabox/slsabox/bench/internal/stats"
	"github.com/slsabox/slsabox/builder"
)

func main() {
	n := flag.Int("n", 10, "runs per side (warm)")
	cold := flag.Int("cold", 0, "runs per side from empty caches (network: through GOPROXY)")
	cache := flag.String("cache", "", "slsabox input cache to warm and measure (default a temporary directory)")
	goproxy := flag.String("goproxy", "", "GOPROXY for both sides (default the host's)")
	modcache := flag.String("gomodcache", "", "the go command's module cache for the warm runs (default a temporary directory, filled first)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: go run ./bench/inputs [flags] MODULE_DIR... (each holding go.mod and go.sum)")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	if *goproxy == "" {
		out, err := exec.Command("go", "env", "GOPROXY").Output()
		if err != nil {
			fail(err)
		}
		*goproxy = strings.TrimSpace(string(out))
	}
	tmp, err := os.MkdirTemp("", "slsabox-bench-inputs-")
	if err != nil {
		fail(err)
	}
	defer removeAll(tmp)
	if *cache == "" {
		*cache = filepath.Join(tmp, "cache")
	}
	for _, dir := range flag.Args() {
		if err := bench(dir, tmp, *cache, *modcache, *goproxy, *n, *cold); err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench/inputs:", err)
	os.Exit(1)
}

// removeAll removes a tree holding read-only module caches.
func removeAll(dir string) {
	_ = exec.Command("chmod", "-R", "u+w", dir).Run()
	_ = os.RemoveAll(dir)
}

func bench(dir, tmp, cache, gomodcache, goproxy string, n, cold int) error {
	ctx := context.Background()
	sum, err := os.ReadFile(filepath.Join(dir, "go.sum"))
	if err != nil {
		return err
	}
	zips, mods := 0, 0
	for _, l := range strings.Split(string(sum), "\n") {
		switch f := strings.Fields(l); {
		case len(f) != 3:
		case strings.HasSuffix(f[1], "/go.mod"):
			mods++
		default:
			zips++
		}
	}
	def := &builder.Definition{File: "bench.yaml", Inputs: []builder.Input{{GoMod: "go.sum"}}}
	opts := func(cache string) []builder.Option {
		return []builder.Option{builder.WithCacheDir(cache), builder.WithGoProxy(goproxy)}
	}
	if gomodcache == "" {
		gomodcache = filepath.Join(tmp, "gomodcache")
	}
	// The go command needs only go.mod and go.sum to download the module graph.
	mod := filepath.Join(tmp, "module")
	removeAll(mod)
	if err := os.MkdirAll(mod, 0o755); err != nil {
		return err
	}
	for _, f := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(mod, f), b, 0o644); err != nil {
			return err
		}
	}
	run := 0
	slsabox := func(cache string) (time.Duration, error) {
		run++
		out := filepath.Join(tmp, fmt.Sprintf("view-%d", run))
		start := time.Now()
		_, err := builder.PrepareInputs(ctx, def, dir, out, opts(cache)...)
		d := time.Since(start)
		removeAll(out)
		return d, err
	}
	gomod := func(modcache string, verb ...string) (time.Duration, error) {
		if verb == nil {
			verb = []string{"download"}
		}
		cmd := exec.Command("go", append([]string{"mod"}, verb...)...)
		cmd.Dir = mod
		cmd.Env = append(os.Environ(), "GOMODCACHE="+modcache, "GOPROXY="+goproxy, "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
		start := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			return 0, fmt.Errorf("go mod %s: %v\n%s", verb[0], err, out)
		}
		return time.Since(start), nil
	}

	fmt.Printf("%s: go.sum pins %d module zips and %d go.mod files; GOPROXY=%s\n", dir, zips, mods, goproxy)
	if cold > 0 {
		var a, b []time.Duration
		for i := 0; i < cold; i++ {
			c1, c2 := filepath.Join(tmp, "cold-slsabox"), filepath.Join(tmp, "cold-gomod")
			d, err := slsabox(c1)
			if err != nil {
				return err
			}
			a = append(a, d)
			d, err = gomod(c2)
			if err != nil {
				return err
			}
			b = append(b, d)
			removeAll(c1)
			removeAll(c2)
		}
		fmt.Printf("  cold (empty caches, %d runs each):  slsabox inputs %s   go mod download %s\n", cold, stats.MS(stats.Median(a)), stats.MS(stats.Median(b)))
	}
	// Warm both caches once, then measure.
	if _, err := slsabox(cache); err != nil {
		return err
	}
	if _, err := gomod(gomodcache); err != nil {
		return err
	}
	var a, b, c []time.Duration
	for i := 0; i < n; i++ {
		d, err := slsabox(cache)
		if err != nil {
			return err
		}
		a = append(a, d)
		if d, err = gomod(gomodcache); err != nil {
			return err
		}
		b = append(b, d)
		if d, err = gomod(gomodcache, "verify"); err != nil {
			return err
		}
		c = append(c, d)
	}
	du, _ := exec.Command("du", "-sh", filepath.Join(cache, "gomod")).Output()
	fmt.Printf("  warm (%d runs each, cache %s):  slsabox inputs (link + re-hash) %s   go mod download %s   go mod verify %s\n",
		n, strings.Fields(string(du) + " ?")[0], stats.MS(stats.Median(a)), stats.MS(stats.Median(b)), stats.MS(stats.Median(c)))
	return nil
}
