// Command pushimage pushes an OCI image archive (a tar with oci-layout, index.json
// and blobs/, as scripts/images/*.sh write them) to a registry, byte for byte, so
// that the registry serves the archive's manifest under the archive's digest.
//
//	go run ./internal/cmd/pushimage ARCHIVE REF
//
// REF is REGISTRY/REPO[:TAG] (default tag latest); registries on this machine are
// spoken to over plain HTTP. On success it prints the manifest digest, sha256:...,
// which the archive's index.json names: pin REGISTRY/REPO@sha256:... in slsabox.yaml.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/slsabox/slsabox/internal/push"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) != 2 || args[0] == "" || args[0][0] == '-' {
		fmt.Fprintln(stderr, "usage: pushimage ARCHIVE REF")
		return 2
	}
	d, err := push.Push(ctx, args[0], args[1])
	if err != nil {
		fmt.Fprintln(stderr, "pushimage:", err)
		return 1
	}
	fmt.Fprintln(stdout, d)
	return 0
}
