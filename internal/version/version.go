// Package version reports which slsabox binary is running, for --version and for the
// provenance's builderDependencies.
package version

import (
	"runtime/debug"
	"sync"
)

// Version is set at release time with -ldflags "-X github.com/slsabox/slsabox/internal/version.Version=v1.2.3".
var Version = ""

// String returns the release version, else the module version, else "devel".
func String() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// BinaryDigest returns the sha256 (hex) of the running executable, or "" if it cannot
// be read. The file is hashed at most once per process, and not at all when the
// digest cache knows it (see digest.go).
func BinaryDigest() string { return binaryDigest() }

// PrefetchBinaryDigest starts hashing the executable in the background, so that a
// later BinaryDigest (after a build) does not wait for it.
func PrefetchBinaryDigest() { go binaryDigest() }

var binaryDigest = sync.OnceValue(hashExecutable)
