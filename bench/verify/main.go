// Command verify measures offline verification, side by side in one run:
//
//	A:  slsabox verify ARTIFACT --bundle B --key K.pub --trusted-root R (policy flags),
//	    the verify-only build (-slsabox-verify; go build -tags slsabox_verifyonly)
//	A2: the same command, the full build (-slsabox)
//	B:  cosign verify-blob-attestation --key K.pub --trusted-root R --type slsaprovenance1
//	    --bundle B ARTIFACT
//
// on the same bundle and artifact, alternating A, A2, B, A, A2, B..., medians; then
// the library's throughput on one core (GOMAXPROCS=1): verifications per second of the
// parsed bundle, and of parsing plus verifying. The target of issue 14, at most 0.40x
// cosign's wall time, is judged on A: the verify-only build is the consumer's verifier.
//
// The bundle is made here: a small artifact's provenance, signed with a fresh key
// (attest) and logged to the Rekor at -rekor-url, whose trusted_root.json is
// -trusted-root (scripts/rekor.sh start; scripts/rekor.sh trusted-root).
//
//	go run ./bench/verify -rekor-url $(scripts/rekor.sh url) -trusted-root $(scripts/rekor.sh trusted-root) \
//	    -slsabox bin/slsabox -slsabox-verify bin/slsabox-verify -cosign $(go env GOPATH)/bin/cosign -n 20
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/slsabox/slsabox/attest"
	"github.com/slsabox/slsabox/attest/verify"
	"github.com/slsabox/slsabox/bench/internal/stats"
)

const builderID = "https://slsabox.dev/builders/bench"

var profile, keep string

func main() {
	url := flag.String("rekor-url", "http://127.0.0.1:3410", "Rekor URL to log the bundle to")
	trustedRoot := flag.String("trusted-root", "", "trusted_root.json of that log (required)")
	slsabox := flag.String("slsabox", "bin/slsabox", "slsabox binary, the full build (A2; empty: not measured)")
	slsaboxVerify := flag.String("slsabox-verify", "bin/slsabox-verify", "slsabox's verify-only build (A, go build -tags slsabox_verifyonly; empty: not measured)")
	cosign := flag.String("cosign", "cosign", "cosign binary")
	n := flag.Int("n", 20, "runs per side")
	dur := flag.Duration("throughput-time", 3*time.Second, "how long to run each of the two in-process throughput measurements (in 10 alternating rounds)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the in-process part to this file")
	flag.StringVar(&keep, "keep", "", "write the key, artifact and bundle to this directory and keep them (default: a temporary directory, removed)")
	flag.Parse()
	profile = *cpuprofile
	if *trustedRoot == "" {
		fmt.Fprintln(os.Stderr, "verify bench: -trusted-root is required (scripts/rekor.sh trusted-root)")
		os.Exit(2)
	}
	if *slsabox == "" && *slsaboxVerify == "" {
		fmt.Fprintln(os.Stderr, "verify bench: -slsabox and -slsabox-verify are both empty: nothing to measure against cosign")
		os.Exit(2)
	}
	if err := run(*url, *trustedRoot, *slsabox, *slsaboxVerify, *cosign, *n, *dur); err != nil {
		fmt.Fprintln(os.Stderr, "verify bench:", err)
		os.Exit(1)
	}
}

func run(url, trustedRoot, slsabox, slsaboxVerify, cosign string, n int, dur time.Duration) error {
	dir := keep
	if dir == "" {
		tmp, err := os.MkdirTemp("", "slsabox-verify-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	at := func(name string) string { return filepath.Join(dir, name) }

	// A logged bundle for a small artifact.
	artifact := make([]byte, 64<<10)
	for i := range artifact {
		artifact[i] = byte(i * 7)
	}
	if err := os.WriteFile(at("artifact"), artifact, 0o644); err != nil {
		return err
	}
	sum := sha256.Sum256(artifact)
	digest := hex.EncodeToString(sum[:])
	res := stats.Result(digest)
	st, err := attest.Provenance(res, builderID)
	if err != nil {
		return err
	}
	privPEM, pubPEM, err := attest.GenerateKey(attest.ECDSAP256, nil)
	if err != nil {
		return err
	}
	if err := os.WriteFile(at("key.pub"), pubPEM, 0o644); err != nil {
		return err
	}
	priv, err := attest.ParsePrivateKey(privPEM, nil)
	if err != nil {
		return err
	}
	signer, err := attest.NewKeySigner(priv)
	if err != nil {
		return err
	}
	b, err := attest.Sign(context.Background(), st, signer)
	if err != nil {
		return err
	}
	log, err := attest.NewRekor(url)
	if err != nil {
		return err
	}
	if err := attest.LogBundle(context.Background(), b, pubPEM, log); err != nil {
		return fmt.Errorf("logging to %s: %w", url, err)
	}
	bundlePath := at("provenance.sigstore.json")
	if err := attest.WriteBundle(bundlePath, b); err != nil {
		return err
	}
	bundleJSON, err := os.ReadFile(bundlePath)
	if err != nil {
		return err
	}
	sourceURI := res.Source.URI

	verifyArgs := []string{"verify", at("artifact"), "--bundle", bundlePath, "--key", at("key.pub"),
		"--trusted-root", trustedRoot, "--builder-id", builderID, "--source-uri", sourceURI, "-q"}
	var sides []side
	if slsaboxVerify != "" {
		sides = append(sides, side{"A", "slsabox verify (verify-only build)", exec.Command(slsaboxVerify, verifyArgs...)})
	}
	if slsabox != "" {
		sides = append(sides, side{"A2", "slsabox verify (full build)", exec.Command(slsabox, verifyArgs...)})
	}
	sides = append(sides, side{"B", "cosign verify-blob-attestation", exec.Command(cosign, "verify-blob-attestation", "--key", at("key.pub"),
		"--trusted-root", trustedRoot, "--type", "slsaprovenance1", "--bundle", bundlePath, at("artifact"))})
	if n > 0 {
		if err := sideBySide(n, len(artifact), sides); err != nil {
			return err
		}
	}

	// In-process, one core.
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	v, err := verify.New(verify.WithPublicKey(pubPEM), verify.WithTrustedRootFile(trustedRoot))
	if err != nil {
		return err
	}
	policy := verify.Policy{Digest: digest, BuilderID: builderID, SourceURI: sourceURI}
	parsed, err := attest.ParseBundle(bundleJSON)
	if err != nil {
		return err
	}
	if r, err := v.Verify(parsed, policy); err != nil || !r.Verified {
		return fmt.Errorf("the library does not verify the bundle: %v", err)
	}
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	// Rates per second of wall time and per second of CPU time (user + system, all
	// threads, GC included): on a shared machine the second is what one core gives.
	// The two loops alternate in 10 rounds; the report gives the median round.
	rate := func(f func() error, d time.Duration) (wall, cpu float64, err error) {
		count := 0
		t0, c0 := time.Now(), cpuTime()
		for time.Since(t0) < d {
			if err := f(); err != nil {
				return 0, 0, err
			}
			count++
		}
		return float64(count) / time.Since(t0).Seconds(), float64(count) / (cpuTime() - c0).Seconds(), nil
	}
	verifyOnly := func() error { _, err := v.Verify(parsed, policy); return err }
	parseVerify := func() error {
		b, err := attest.ParseBundle(bundleJSON)
		if err != nil {
			return err
		}
		_, err = v.Verify(b, policy)
		return err
	}
	const rounds = 10
	var vw, vc, pw, pc []float64
	for range rounds {
		w, c, err := rate(verifyOnly, dur/rounds)
		if err != nil {
			return err
		}
		vw, vc = append(vw, w), append(vc, c)
		if w, c, err = rate(parseVerify, dur/rounds); err != nil {
			return err
		}
		pw, pc = append(pw, w), append(pc, c)
	}
	fmt.Printf("library verification on one core (GOMAXPROCS=1, %d alternating rounds of %s, median round)\n", rounds, dur/rounds)
	fmt.Printf("  %-40s %6.0f per CPU-second  %6.0f per wall-second (target at least 3000 per CPU-second)\n", "Verifier.Verify (bundle parsed once)", stats.Median(vc), stats.Median(vw))
	fmt.Printf("  %-40s %6.0f per CPU-second  %6.0f per wall-second\n", "ParseBundle + Verifier.Verify", stats.Median(pc), stats.Median(pw))
	return nil
}

// side is one command the bench times.
type side struct {
	label, name string
	cmd         *exec.Cmd
}

// sideBySide runs the sides in turn n times each, after one untimed run of each (all
// must accept the bundle; the first runs also warm the page cache), and compares each
// slsabox side with cosign, the last.
func sideBySide(n, size int, sides []side) error {
	type sample struct{ wall, cpu time.Duration }
	runCmd := func(c *exec.Cmd) (sample, error) {
		c = exec.Command(c.Path, c.Args[1:]...)
		t0 := time.Now()
		out, err := c.CombinedOutput()
		d := time.Since(t0)
		if err != nil {
			return sample{}, fmt.Errorf("%s: %v\n%s", c, err, out)
		}
		return sample{d, c.ProcessState.UserTime() + c.ProcessState.SystemTime()}, nil
	}
	for _, s := range sides {
		if _, err := runCmd(s.cmd); err != nil {
			return err
		}
	}
	wall := make([][]time.Duration, len(sides))
	cpu := make([][]time.Duration, len(sides))
	for range n {
		for i, s := range sides {
			r, err := runCmd(s.cmd)
			if err != nil {
				return err
			}
			wall[i], cpu[i] = append(wall[i], r.wall), append(cpu[i], r.cpu)
		}
	}
	labels := make([]string, len(sides))
	for i, s := range sides {
		labels[i] = s.label
	}
	fmt.Printf("verifying one logged bundle and a %d KiB artifact offline, %d runs per side, alternating %s\n", size>>10, n, strings.Join(labels, ", "))
	for i, s := range sides {
		fmt.Printf("  %-2s %-40s wall median %8s  min %8s  max %8s  cpu median %8s\n", s.label, s.name,
			stats.MS(stats.Median(wall[i])), stats.MS(slices.Min(wall[i])), stats.MS(slices.Max(wall[i])), stats.MS(stats.Median(cpu[i])))
	}
	b := len(sides) - 1 // cosign
	measuredA := false
	for i, s := range sides[:b] {
		target := "(no target: the target is judged on A, the verify-only build)"
		if s.label == "A" {
			target, measuredA = "(target at most 0.40x: the verify-only build, the consumer's verifier)", true
		}
		fmt.Printf("  ratio %s/B: wall median %.2fx %s, wall min %.2fx, cpu median %.2fx\n", s.label,
			float64(stats.Median(wall[i]))/float64(stats.Median(wall[b])), target,
			float64(slices.Min(wall[i]))/float64(slices.Min(wall[b])), float64(stats.Median(cpu[i]))/float64(stats.Median(cpu[b])))
	}
	if !measuredA {
		fmt.Println("  the target (at most 0.40x) is judged on the verify-only build, not measured here: pass -slsabox-verify")
	}
	return nil
}

// cpuTime is the user and system time this process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
