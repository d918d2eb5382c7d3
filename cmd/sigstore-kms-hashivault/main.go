// Command sigstore-kms-hashivault signs with a key in HashiCorp Vault's transit engine for slsabox:
// a plugin of sigstore's KMS plugin protocol, which `slsabox build --key hashivault://…` runs (found
// beside slsabox or on PATH). It links that provider's SDK so that slsabox itself does not. It reads its
// credentials the way the provider's SDK does. Not run by hand.
package main

import (
	"os"

	_ "github.com/sigstore/sigstore/pkg/signature/kms/hashivault"

	"github.com/slsabox/slsabox/internal/kmsplugin"
)

func main() {
	os.Exit(kmsplugin.Main("hashivault", os.Args, os.Stdin, os.Stdout, os.Stderr))
}
