// Command sigstore-kms-awskms signs with a key in AWS KMS for slsabox:
// a plugin of sigstore's KMS plugin protocol, which `slsabox build --key awskms://…` runs (found
// beside slsabox or on PATH). It links that provider's SDK so that slsabox itself does not. It reads its
// credentials the way the provider's SDK does. Not run by hand.
package main

import (
	"os"

	_ "github.com/sigstore/sigstore/pkg/signature/kms/aws"

	"github.com/slsabox/slsabox/internal/kmsplugin"
)

func main() {
	os.Exit(kmsplugin.Main("awskms", os.Args, os.Stdin, os.Stdout, os.Stderr))
}
