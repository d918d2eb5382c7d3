// Command tlog measures logging to a real Rekor, side by side in one run:
//
//   - latency: slsabox build of a one-step project with --rekor-url versus the same
//     build with --no-tlog, alternating, medians (what logging adds to a build);
//
//   - throughput: 50 signed attestations logged concurrently versus one after another.
//     A Rekor v2 log answers an upload at its next checkpoint (about a second), so
//     concurrent uploads share checkpoints and serial ones wait for each.
//
//     go run ./bench/tlog -rekor-url $(scripts/rekor.sh url) -slsabox bin/slsabox -image oci-archive:...
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
	"slices"
	"sync"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"

	"github.com/slsabox/slsabox/attest"
	"github.com/slsabox/slsabox/bench/internal/stats"
)

func main() {
	url := flag.String("rekor-url", "http://127.0.0.1:3410", "Rekor v2 URL")
	slsabox := flag.String("slsabox", "bin/slsabox", "slsabox binary (for the latency part)")
	image := flag.String("image", "", "oci-archive:...@sha256:... of an image with sh, e.g. testbox (for the latency part; empty skips it)")
	runs := flag.Int("runs", 10, "builds per side for the latency part")
	n := flag.Int("n", 50, "attestations for the throughput part")
	flag.Parse()
	if *image != "" {
		if err := latency(*slsabox, *image, *url, *runs); err != nil {
			fmt.Fprintln(os.Stderr, "latency:", err)
			os.Exit(1)
		}
	}
	if err := throughput(*url, *n); err != nil {
		fmt.Fprintln(os.Stderr, "throughput:", err)
		os.Exit(1)
	}
}

func latency(slsabox, image, url string, runs int) error {
	dir, err := os.MkdirTemp("", "slsabox-tlog-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	project := filepath.Join(dir, "project")
	if err := os.Mkdir(project, 0o755); err != nil {
		return err
	}
	def := "version: 1\nimage: " + image + "\nsteps: [{name: a, run: [sh, -c, 'echo artifact > /out/artifact']}]\noutputs: [/out/*]\n"
	if err := os.WriteFile(filepath.Join(project, "slsabox.yaml"), []byte(def), 0o644); err != nil {
		return err
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"-c", "user.name=b", "-c", "user.email=b@e", "commit", "-qm", "x"}} {
		if out, err := exec.Command("git", append([]string{"-C", project}, args...)...).CombinedOutput(); err != nil {
			return fmt.Errorf("git: %s", out)
		}
	}
	key := filepath.Join(dir, "k")
	if out, err := exec.Command(slsabox, "keygen", "--out", key, "-q").CombinedOutput(); err != nil {
		return fmt.Errorf("keygen: %s", out)
	}
	build := func(extra ...string) (time.Duration, error) {
		out := filepath.Join(dir, "out")
		args := append([]string{"build", project, "-q", "-o", out, "--key", key + ".key", "--namespace", "slsabox-bench"}, extra...)
		t0 := time.Now()
		o, err := exec.Command(slsabox, args...).CombinedOutput()
		if err != nil {
			return 0, fmt.Errorf("slsabox %v: %v\n%s", args, err, o)
		}
		return time.Since(t0), nil
	}
	if _, err := build("--no-tlog"); err != nil { // warm: image import and unpack
		return err
	}
	var logged, unlogged []time.Duration
	for range runs {
		d, err := build("--rekor-url", url)
		if err != nil {
			return err
		}
		logged = append(logged, d)
		if d, err = build("--no-tlog"); err != nil {
			return err
		}
		unlogged = append(unlogged, d)
	}
	ml, mu := stats.Median(logged), stats.Median(unlogged)
	fmt.Printf("build + sign (+ log) of a one-step project, %d runs per side, alternating\n", runs)
	fmt.Printf("  %-34s median %8s  min %8s  max %8s\n", "with --rekor-url (logged)", stats.MS(ml), stats.MS(slices.Min(logged)), stats.MS(slices.Max(logged)))
	fmt.Printf("  %-34s median %8s  min %8s  max %8s\n", "with --no-tlog", stats.MS(mu), stats.MS(slices.Min(unlogged)), stats.MS(slices.Max(unlogged)))
	fmt.Printf("  logging adds %s (median)\n", stats.MS(ml-mu))
	return nil
}

func throughput(url string, n int) error {
	privPEM, pubPEM, err := attest.GenerateKey(attest.ECDSAP256, nil)
	if err != nil {
		return err
	}
	priv, _ := attest.ParsePrivateKey(privPEM, nil)
	signer, _ := attest.NewKeySigner(priv)
	log, err := attest.NewRekor(url)
	if err != nil {
		return err
	}
	sign := func() ([]*bundle.Bundle, error) {
		var out []*bundle.Bundle
		for i := range n {
			sum := sha256.Sum256(fmt.Appendf(nil, "artifact %d %d", i, time.Now().UnixNano()))
			st, err := attest.Provenance(stats.Result(hex.EncodeToString(sum[:])), "https://slsabox.dev/builders/bench")
			if err != nil {
				return nil, err
			}
			b, err := attest.Sign(context.Background(), st, signer)
			if err != nil {
				return nil, err
			}
			out = append(out, b)
		}
		return out, nil
	}
	serialBundles, err := sign()
	if err != nil {
		return err
	}
	concBundles, err := sign()
	if err != nil {
		return err
	}
	t0 := time.Now()
	for _, b := range serialBundles {
		if err := attest.LogBundle(context.Background(), b, pubPEM, log); err != nil {
			return err
		}
	}
	serial := time.Since(t0)
	t0 = time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for _, b := range concBundles {
		wg.Go(func() {
			if err := attest.LogBundle(context.Background(), b, pubPEM, log); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	conc := time.Since(t0)
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	fmt.Printf("logging %d signed attestations to %s\n", n, url)
	fmt.Printf("  %-34s %8s  (%.1f entries/s)\n", "in series", stats.MS(serial), float64(n)/serial.Seconds())
	fmt.Printf("  %-34s %8s  (%.1f entries/s)\n", "concurrently", stats.MS(conc), float64(n)/conc.Seconds())
	fmt.Printf("  concurrency speed-up: %.1fx\n", serial.Seconds()/conc.Seconds())
	return nil
}
