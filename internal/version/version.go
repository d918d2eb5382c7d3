// Package version reports which slsabox binary is running, for --version and for the
// provenance's builderDependencies.
package version

import (
	"os"
	"runtime/debug"
	"sync"

	"github.com/slsabox/slsabox/internal/filehash"
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
// be read. The file is hashed once per process.
func BinaryDigest() string { return binaryDigest() }

// PrefetchBinaryDigest starts hashing the executable in the background, so that a
// later BinaryDigest (after a build) does not wait for it.
func PrefetchBinaryDigest() { go binaryDigest() }

var binaryDigest = sync.OnceValue(hashExecutable)

func hashExecutable() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	sum, _ := filehash.SHA256(exe)
	return sum
}
