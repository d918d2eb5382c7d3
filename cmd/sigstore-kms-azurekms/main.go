// Command sigstore-kms-azurekms signs with a key in Azure Key Vault for slsabox:
// a plugin of sigstore's KMS plugin protocol, which `slsabox build --key azurekms://…` runs (found
// beside slsabox or on PATH). It links that provider's SDK so that slsabox itself does not. It reads its
// credentials the way the provider's SDK does. Not run by hand.
package main

import (
	"os"

	_ "github.com/sigstore/sigstore/pkg/signature/kms/azure"

	"github.com/slsabox/slsabox/internal/kmsplugin"
)

func main() {
	os.Exit(kmsplugin.Main("azurekms", os.Args, os.Stdin, os.Stdout, os.Stderr))
}
