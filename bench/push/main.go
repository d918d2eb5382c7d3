// Command push compares slsabox's push and attach of a built image with cosign's
// attest of the same image, with the same predicate, on the same registry (one with
// the OCI 1.1 referrers API, scripts/registry.sh oci), side by side in one run:
//
//	A: slsabox push --bundle OUT/provenance.sigstore.json: check the image's layout
//	   (every blob against its digest) and that the bundle names it, push the image by
//	   digest (already there: one HEAD), upload the bundle and put the referrer.
//	   Before each run, untimed, the statement is signed again, so every run uploads a
//	   new bundle and puts a new referrer, as cosign does.
//	B: cosign attest --key K --type slsaprovenance1 --predicate P --new-bundle-format
//	   of IMAGE@DIGEST: sign (a key made beforehand, scrypt-wrapped with an empty
//	   passphrase, as cosign keys always are), upload the bundle, put the referrer.
//
// Runs alternate A, B, A, B...; the report gives medians. cosign verify-attestation
// accepts what both sides attached before the timed runs.
//
//	go run ./bench/push -slsabox bin/slsabox -cosign $(go env GOPATH)/bin/cosign \
//	    -out OUT -key K.key -registry 127.0.0.1:5006 -n 20
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/slsabox/slsabox/attest"
	"github.com/slsabox/slsabox/bench/internal/stats"
)

func main() {
	n := flag.Int("n", 20, "runs per side")
	slsabox := flag.String("slsabox", "bin/slsabox", "slsabox binary")
	cosign := flag.String("cosign", "cosign", "cosign binary")
	out := flag.String("out", "", "OUT of a signed build with one image (slsabox build of examples/hello-image)")
	key := flag.String("key", "", "the key that build signed with (slsabox keygen's PEM)")
	registry := flag.String("registry", "", "HOST:PORT of the registry, on loopback")
	flag.Parse()
	if *out == "" || *key == "" || *registry == "" {
		fmt.Fprintln(os.Stderr, "push bench: -out, -key and -registry are required")
		os.Exit(2)
	}
	if err := run(*n, *slsabox, *cosign, *out, *key, *registry); err != nil {
		fmt.Fprintln(os.Stderr, "push bench:", err)
		os.Exit(1)
	}
}

func run(n int, slsabox, cosign, out, key, registry string) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "slsabox-push-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	at := func(name string) string { return filepath.Join(dir, name) }
	bundlePath := filepath.Join(out, attest.BundleFile)
	payload, err := statement(bundlePath)
	if err != nil {
		return err
	}
	var full map[string]json.RawMessage
	if err := json.Unmarshal(payload, &full); err != nil {
		return err
	}
	if err := os.WriteFile(at("predicate.json"), full["predicate"], 0o644); err != nil {
		return err
	}
	signer, err := attest.LoadSigner(ctx, key)
	if err != nil {
		return err
	}
	resign := func() error {
		b, err := attest.SignPayload(ctx, payload, signer)
		if err != nil {
			return err
		}
		return attest.WriteBundle(bundlePath, b)
	}
	env := append(os.Environ(), "COSIGN_PASSWORD=", "COSIGN_YES=true")
	cmd := func(name string, args ...string) *exec.Cmd {
		c := exec.Command(name, args...)
		c.Env = env
		return c
	}
	if b, err := cmd(cosign, "generate-key-pair", "--output-key-prefix", at("cosign")).CombinedOutput(); err != nil {
		return fmt.Errorf("cosign generate-key-pair: %v\n%s", err, b)
	}
	if b, err := cmd(cosign, "signing-config", "create", "--out", at("signing-config.json")).CombinedOutput(); err != nil {
		return fmt.Errorf("cosign signing-config create: %v\n%s", err, b)
	}

	var ref string
	sideA := func() error {
		b, err := cmd(slsabox, "push", "-q", "--output", "json", "--bundle", bundlePath, "--registry", registry).Output()
		if err != nil {
			return fmt.Errorf("slsabox push: %v\n%s", err, b)
		}
		var res struct {
			Images []struct{ Ref string } `json:"images"`
		}
		if err := json.Unmarshal(b, &res); err != nil || len(res.Images) != 1 {
			return fmt.Errorf("slsabox push printed %s (%v)", b, err)
		}
		ref = res.Images[0].Ref
		return nil
	}
	sideB := func() error {
		b, err := cmd(cosign, "attest", "--key", at("cosign.key"), "--type", "slsaprovenance1", "--predicate", at("predicate.json"),
			"--new-bundle-format", "--signing-config", at("signing-config.json"), "--allow-http-registry", "-y", ref).CombinedOutput()
		if err != nil {
			return fmt.Errorf("cosign attest: %v\n%s", err, b)
		}
		return nil
	}
	// Both sides once, checked by cosign verify-attestation.
	if err := sideA(); err != nil {
		return err
	}
	if err := sideB(); err != nil {
		return err
	}
	for _, pub := range []string{strings.TrimSuffix(key, ".key") + ".pub", at("cosign.pub")} {
		if b, err := cmd(cosign, "verify-attestation", "--key", pub, "--type", "slsaprovenance1", "--allow-http-registry",
			"--insecure-ignore-tlog", ref).CombinedOutput(); err != nil {
			return fmt.Errorf("cosign verify-attestation --key %s: %v\n%s", pub, err, b)
		}
	}

	var ta, tb []time.Duration
	for range n {
		if err := resign(); err != nil {
			return err
		}
		t0 := time.Now()
		if err := sideA(); err != nil {
			return err
		}
		ta = append(ta, time.Since(t0))
		t0 = time.Now()
		if err := sideB(); err != nil {
			return err
		}
		tb = append(tb, time.Since(t0))
	}
	ma, mb := stats.Median(ta), stats.Median(tb)
	fmt.Printf("push and attach of %s, %d runs per side, alternating\n", ref, n)
	fmt.Printf("%-52s median %8s  min %8s  max %8s\n", "A slsabox push (image by digest + referrer)", stats.MS(ma), stats.MS(slices.Min(ta)), stats.MS(slices.Max(ta)))
	fmt.Printf("%-52s median %8s  min %8s  max %8s\n", "B cosign attest --new-bundle-format (sign + referrer)", stats.MS(mb), stats.MS(slices.Min(tb)), stats.MS(slices.Max(tb)))
	fmt.Printf("ratio A/B (median): %.2fx\n", float64(ma)/float64(mb))
	return nil
}

// statement returns the in-toto statement a bundle signs.
func statement(bundle string) ([]byte, error) {
	data, err := os.ReadFile(bundle)
	if err != nil {
		return nil, err
	}
	var b struct {
		DSSE struct {
			Payload string `json:"payload"`
		} `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(b.DSSE.Payload)
}
