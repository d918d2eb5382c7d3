//go:build !unix

package attest

import "errors"

var errNoPlugin = errors.New("no KMS plugin program")

// findKMSPlugin: KMS plugins are run only where their owner can be checked.
func findKMSPlugin(string) (string, error) {
	return "", errors.New("KMS plugin programs are supported on Linux and other Unix systems only")
}
