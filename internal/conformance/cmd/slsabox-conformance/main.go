// Command slsabox-conformance is the client entrypoint that Sigstore's conformance
// suite calls (pytest --entrypoint=PATH): it verifies bundles with slsabox's
// attest/verify. See internal/conformance and docs/conformance.md.
package main

import (
	"os"

	"github.com/slsabox/slsabox/internal/conformance"
)

func main() { os.Exit(conformance.Run(os.Args[1:], os.Stdout, os.Stderr)) }
