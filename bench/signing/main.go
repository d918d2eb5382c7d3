// Command signing compares slsabox's signing with cosign's, side by side in one run:
//
//	A: slsabox keygen, then signing the statement into a Sigstore bundle (the attest
//	   package, in a process of its own, as slsabox build does after a build)
//	B: cosign attest-blob with a key made beforehand (cosign keys are always
//	   scrypt-wrapped; this one has an empty passphrase), the same predicate and artifact
//
// Runs alternate A, B, A, B...; the report gives medians. Both bundles are checked with
// cosign verify-blob-attestation first, so the two sides do the same job.
//
//	go run ./bench/signing -slsabox bin/slsabox -cosign $(go env GOPATH)/bin/cosign -n 20
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"github.com/slsabox/slsabox/attest"
	"github.com/slsabox/slsabox/bench/internal/stats"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "sign" {
		if err := signMode(os.Args[2], os.Args[3], os.Args[4]); err != nil {
			fmt.Fprintln(os.Stderr, "sign:", err)
			os.Exit(1)
		}
		return
	}
	n := flag.Int("n", 20, "runs per side")
	slsabox := flag.String("slsabox", "bin/slsabox", "slsabox binary")
	cosign := flag.String("cosign", "cosign", "cosign binary")
	flag.Parse()
	if err := run(*n, *slsabox, *cosign); err != nil {
		fmt.Fprintln(os.Stderr, "signing bench:", err)
		os.Exit(1)
	}
}

// signMode is side A's signer process: load the key, sign the statement, write the bundle.
func signMode(key, statement, out string) error {
	payload, err := os.ReadFile(statement)
	if err != nil {
		return err
	}
	signer, err := attest.LoadSigner(context.Background(), key)
	if err != nil {
		return err
	}
	b, err := attest.SignPayload(context.Background(), payload, signer)
	if err != nil {
		return err
	}
	return attest.WriteBundle(out, b)
}

func run(n int, slsabox, cosign string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "slsabox-signing-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	at := func(name string) string { return filepath.Join(dir, name) }

	artifact := []byte("the artifact both sides attest\n")
	if err := os.WriteFile(at("artifact"), artifact, 0o644); err != nil {
		return err
	}
	sum := sha256.Sum256(artifact)
	st, err := attest.Provenance(stats.Result(hex.EncodeToString(sum[:])), "https://slsabox.dev/builders/bench")
	if err != nil {
		return err
	}
	payload, err := attest.MarshalStatement(st)
	if err != nil {
		return err
	}
	if err := os.WriteFile(at("statement.json"), payload, 0o644); err != nil {
		return err
	}
	var full map[string]json.RawMessage
	if err := json.Unmarshal(payload, &full); err != nil {
		return err
	}
	if err := os.WriteFile(at("predicate.json"), full["predicate"], 0o644); err != nil {
		return err
	}
	env := append(os.Environ(), "COSIGN_PASSWORD=", "COSIGN_YES=true")
	cmd := func(name string, args ...string) *exec.Cmd {
		c := exec.Command(name, args...)
		c.Env, c.Dir = env, dir
		return c
	}
	if out, err := cmd(cosign, "generate-key-pair", "--output-key-prefix", at("cosign")).CombinedOutput(); err != nil {
		return fmt.Errorf("cosign generate-key-pair: %v\n%s", err, out)
	}
	if out, err := cmd(cosign, "signing-config", "create", "--out", at("signing-config.json")).CombinedOutput(); err != nil {
		return fmt.Errorf("cosign signing-config create: %v\n%s", err, out)
	}

	sideA := func(i int) error {
		prefix := at(fmt.Sprintf("slsabox-%d", i))
		if out, err := cmd(slsabox, "keygen", "--out", prefix, "-q").CombinedOutput(); err != nil {
			return fmt.Errorf("slsabox keygen: %v\n%s", err, out)
		}
		if out, err := cmd(self, "sign", prefix+".key", at("statement.json"), at("a.sigstore.json")).CombinedOutput(); err != nil {
			return fmt.Errorf("slsabox sign: %v\n%s", err, out)
		}
		return nil
	}
	sideB := func(int) error {
		out, err := cmd(cosign, "attest-blob", "--key", at("cosign.key"), "--predicate", at("predicate.json"),
			"--type", "slsaprovenance1", "--signing-config", at("signing-config.json"), "--bundle", at("b.sigstore.json"), "-y", at("artifact")).CombinedOutput()
		if err != nil {
			return fmt.Errorf("cosign attest-blob: %v\n%s", err, out)
		}
		return nil
	}
	// Both sides must produce bundles cosign accepts.
	if err := sideA(-1); err != nil {
		return err
	}
	if err := sideB(-1); err != nil {
		return err
	}
	for _, c := range [][2]string{{at("slsabox--1.pub"), at("a.sigstore.json")}, {at("cosign.pub"), at("b.sigstore.json")}} {
		if out, err := cmd(cosign, "verify-blob-attestation", "--key", c[0], "--bundle", c[1], "--type", "slsaprovenance1",
			"--insecure-ignore-tlog", at("artifact")).CombinedOutput(); err != nil {
			return fmt.Errorf("cosign rejects %s: %v\n%s", c[1], err, out)
		}
	}

	var ta, tb []time.Duration
	for i := range n {
		t0 := time.Now()
		if err := sideA(i); err != nil {
			return err
		}
		ta = append(ta, time.Since(t0))
		t0 = time.Now()
		if err := sideB(i); err != nil {
			return err
		}
		tb = append(tb, time.Since(t0))
	}
	ma, mb := stats.Median(ta), stats.Median(tb)
	fmt.Printf("signing one provenance statement, %d runs per side, alternating\n", n)
	fmt.Printf("%-48s median %8s  min %8s  max %8s\n", "A slsabox keygen + sign + write bundle", stats.MS(ma), stats.MS(slices.Min(ta)), stats.MS(slices.Max(ta)))
	fmt.Printf("%-48s median %8s  min %8s  max %8s\n", "B cosign attest-blob (key made beforehand)", stats.MS(mb), stats.MS(slices.Min(tb)), stats.MS(slices.Max(tb)))
	fmt.Printf("ratio A/B (median): %.2fx\n", float64(ma)/float64(mb))
	return nil
}
