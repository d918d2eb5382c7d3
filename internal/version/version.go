// Package version reports which slsabox binary is running, for --version and for the
// provenance's builderDependencies.
package version

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/slsabox/slsabox/internal/idcache"
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
// cache knows it: it is about 50 MB, and hashing it cost a signed build as much CPU as
// the rest of signing (see internal/idcache for when the cache may answer).
func BinaryDigest() string { return binaryDigest() }

// PrefetchBinaryDigest starts hashing the executable in the background, so that a
// later BinaryDigest (after a build) does not wait for it.
func PrefetchBinaryDigest() { go binaryDigest() }

var binaryDigest = sync.OnceValue(hashExecutable)

// hashExecutable hashes /proc/self/exe, the file the kernel runs, rather than the path
// the process was started by: that path may have been replaced since.
func hashExecutable() string {
	f, err := os.Open("/proc/self/exe")
	if err != nil {
		exe, err := os.Executable()
		if err != nil {
			return ""
		}
		if f, err = os.Open(exe); err != nil {
			return ""
		}
	}
	defer f.Close()
	sum, err := idcache.New("binary-sha256", isSHA256Hex).Get(f, func() (string, error) {
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return "", err
		}
		return hex.EncodeToString(h.Sum(nil)), nil
	})
	if err != nil {
		return ""
	}
	return sum
}

func isSHA256Hex(s string) bool {
	if len(s) != 2*sha256.Size || strings.ToLower(s) != s {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}
