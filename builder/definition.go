package builder

import (
	"time"
)

// Definition is a parsed and validated slsabox.yaml.
type Definition struct {
	File    string        // path the definition was read from, as given
	Digest  string        // sha256 (hex) of the file's bytes
	Raw     []byte        // the file's bytes, recorded in the provenance
	Version int           // always 1
	Image   ImageRef      // the builder image, pinned by digest
	Inputs  []Input       // declared inputs, fetched outside the sandbox
	Steps   []Step        // run in order, one container each
	Outputs []string      // glob patterns under /out; "**" matches any number of directories
	Images  []OutputImage // container images, subjects beside the files; outputs may be empty when set
	Limits  Limits
	// Runtime is sandbox.runtime: RuntimeRunc, RuntimeGVisor, or "" when the file does
	// not say (runc, unless the caller asks for gVisor).
	Runtime string
}

// Input is a dependency fetched by the control plane and mounted read-only at /inputs.
type Input struct {
	URL    string // with SHA256
	SHA256 string
	GoMod  string // path of a go.sum, relative to the source
}

// Step is one command run in its own container.
type Step struct {
	Name string
	Run  []string
	Env  []EnvVar // in the order written
}

// EnvVar is one NAME=value pair.
type EnvVar struct{ Name, Value string }

// Limits bound every step's resources.
type Limits struct {
	Memory     int64         // bytes, memory+swap
	Pids       int64         // processes and threads
	Timeout    time.Duration // per step
	OutputSize int64         // bytes, all of /out together
	CPUs       float64       // CPU time per wall second (CFS quota); 0: no quota
	LogSize    int64         // bytes of build log kept; the rest is cut, with a marker
	Disk       int64         // bytes of /src, /out and /tmp together (a filesystem of that size); 0: none
}

// defaultLimits apply where slsabox.yaml says nothing.
var defaultLimits = Limits{
	Memory:     2 << 30,
	Pids:       1024,
	Timeout:    20 * time.Minute,
	OutputSize: 4 << 30,
	LogSize:    64 << 20,
}
