package ociref_test

import (
	"context"
	"fmt"

	"github.com/slsabox/slsabox/attest/verify/ociref"
)

// Find the bundles attached to an image, to verify each with package verify.
func ExampleFind() {
	ref, err := ociref.ParseReference("oci://127.0.0.1:5000/acme/hello@sha256:4f7d0e3c3c0a4f1b2a4f6b0b3a7e2f0e5d6c7b8a9f0e1d2c3b4a5f6e7d8c9b0a")
	if err != nil {
		fmt.Println(err)
		return
	}
	bundles, err := ociref.Find(context.Background(), ref)
	if err != nil {
		fmt.Println(err) // ErrNoAttestation, ErrUnreachable, ...
		return
	}
	for _, b := range bundles {
		if b.Err != nil {
			fmt.Printf("%s refused: %v\n", b.Source, b.Err)
			continue
		}
		fmt.Printf("%s: %d bytes to verify\n", b.Source, len(b.JSON))
	}
}
