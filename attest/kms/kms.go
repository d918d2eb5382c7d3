// Package kms registers the key management services a release engineer may keep a
// signing key in: AWS KMS (awskms://), Google Cloud KMS (gcpkms://), Azure Key Vault
// (azurekms://) and HashiCorp Vault (hashivault://). Each reads its credentials the
// way its cloud's SDK does (environment, metadata server, files).
//
// The providers link each cloud's SDK, hundreds of packages, so attest leaves them
// out: a program that signs with a KMS key imports this package for its side effect,
//
//	import _ "github.com/slsabox/slsabox/attest/kms"
//
// and then attest.LoadSigner accepts the URIs above in-process. The slsabox command
// does not: it runs the same providers as plugin programs (cmd/sigstore-kms-*), so that
// it starts without the cloud SDKs.
package kms

import (
	_ "github.com/sigstore/sigstore/pkg/signature/kms/aws"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/azure"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/gcp"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/hashivault"
)
