// Package lazygc keeps the garbage collector off while the program's packages
// initialize. slsabox links containerd, the KMS clients and the Sigstore clients,
// whose init functions allocate a little over the 4 MB of the first collection goal:
// that one collection, of a heap that is all live, cost a third of the CPU time of
// a whole `slsabox verify` (measured with perf stat; see docs/performance.md).
//
// Imported for its side effect by cmd/slsabox, which calls Restore as soon as it
// knows the command is not a short one; keep its imports minimal, so that it is
// initialized before the heavy packages.
package lazygc

import (
	"math"
	"runtime/debug"
)

var percent = debug.SetGCPercent(-1)

// Restore turns the collector back on with the GOGC the process started with.
func Restore() {
	debug.SetGCPercent(percent)
	debug.SetMemoryLimit(math.MaxInt64)
}

// Bounded keeps the collector off for a short command, with a memory limit at which
// it runs anyway: a command that allocates more than limit bytes still collects.
func Bounded(limit int64) {
	debug.SetMemoryLimit(limit)
}
