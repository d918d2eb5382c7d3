package attest

import "time"

// Build describes one finished build the way its provenance records it: what was
// built (source and definition), with what (builder image and inputs), in what
// sandbox, and what came out. slsabox's builder result converts into it (cmd/slsabox
// does); a build run elsewhere can be described the same way, without the builder.
type Build struct {
	Source     Source
	Definition Definition
	Image      Image
	// Inputs are the declared inputs as fetched and checked, in the definition's order.
	Inputs   []Input
	Subjects []Subject
	Limits   Limits
	Sandbox  Sandbox
	Runtime  Runtime
	// AllowDirtyTree is the flag as given; Source.Dirty says whether the tree was dirty.
	AllowDirtyTree        bool
	StartedOn, FinishedOn time.Time
	// LogSHA256 is the hex sha256 of the build log, recorded as a byproduct.
	LogSHA256 string
	// Vendored are the Go modules the source vendors (vendor/modules.txt), for the
	// SBOM; the provenance does not record them (they are part of the source commit).
	Vendored []Module
}

// Source is the commit that was built.
type Source struct {
	// URI is the repository's canonical "git+https://host/path" form (SourceURI makes
	// it from a git remote); Ref the ref that was built ("" when detached).
	URI, Ref string
	// Path is the built directory inside the repository ("" for its root).
	Path   string
	Commit string
	// Dirty: the tree that ran had uncommitted changes (slsabox build --allow-dirty).
	Dirty bool
}

// Definition is the build definition (slsabox.yaml) that ran.
type Definition struct {
	// Path is relative to the repository root, or absolute for a file outside any
	// commit: such a file must not look like part of one.
	Path    string
	SHA256  string // hex, of Content
	Content string
}

// Image is the builder image that ran the steps.
type Image struct {
	Ref            string // as written in the definition
	Digest         string // "sha256:HEX", the digest the definition pins (manifest or index)
	ManifestDigest string // the platform manifest that ran
	ConfigDigest   string
	Platform       string // e.g. linux/amd64
}

// Input is one declared input as fetched and checked.
type Input struct {
	Name   string            // file name under /inputs, or PATH@VERSION[/go.mod]
	URI    string            // the URL, or pkg:golang/PATH@VERSION[#go.mod]
	Digest map[string]string // {"sha256": hex} or {"dirHash": hex}
	GoSum  string            // the go.sum hash (h1:...) of a Go module
}

// Subject is one artifact the build produced. Go and Contains describe what it
// holds, for the SBOM; the provenance names the subject by Name and SHA256 only.
type Subject struct {
	Name   string // its path under the output directory, or an image's name
	SHA256 string // hex
	// Image: the subject is a container image (SHA256 is its manifest's or index's).
	Image bool
	// Go is the build info of a subject that is a Go binary; nil otherwise.
	Go *GoBinary
	// Contains are the Go binaries inside an image subject.
	Contains []ContainedBinary
}

// GoBinary is what a Go binary's build info says it was built from.
type GoBinary struct {
	GoVersion string // e.g. go1.26.8
	Package   string // the main package's import path
	Main      Module // the main module: the source itself
	// Deps are the modules linked in, each as linked (after any replacement).
	Deps []Module
}

// Module is a Go module as linked or vendored, after any replacement.
type Module struct {
	Path    string
	Version string // "" for a local directory (Dir)
	Sum     string // the go.sum hash (h1:...), "" when none was recorded
	// Replaces is the module go.mod replaced with this one (PATH@VERSION); "" if none.
	Replaces string
	// Dir is the local directory a replacement points at: the module is source.
	Dir string
}

// ContainedBinary is a Go binary inside an image subject.
type ContainedBinary struct {
	Path   string // in the image's file system
	SHA256 string // hex
	Go     GoBinary
}

// Limits are the resource limits each step ran under, recorded as
// internalParameters.limits.
type Limits struct {
	MemoryBytes     int64  `json:"memoryBytes"`
	Pids            int64  `json:"pids"`
	Timeout         string `json:"timeout"`
	OutputSizeBytes int64  `json:"outputSizeBytes"`
	// CPUs is the CFS quota, CPU-seconds per wall second; 0: none.
	CPUs         float64 `json:"cpus"`
	LogSizeBytes int64   `json:"logSizeBytes"`
	DiskBytes    int64   `json:"diskBytes"`
}

// Sandbox is the isolation the steps ran in, recorded as internalParameters.sandbox
// (docs/buildtype.md explains each field).
type Sandbox struct {
	UID             uint32 `json:"uid"`
	GID             uint32 `json:"gid"`
	Network         string `json:"network"`
	RootFS          string `json:"rootfs"`
	Capabilities    string `json:"capabilities"`
	NoNewPrivs      bool   `json:"noNewPrivileges"`
	Seccomp         string `json:"seccomp"`
	SeccompDigest   string `json:"seccompDigest"`
	TmpSize         int64  `json:"tmpSize"`
	Hostname        string `json:"hostname"`
	SourceWritable  bool   `json:"sourceWritable"`
	CgroupNamespace string `json:"cgroupNamespace"`
	CoreDumps       string `json:"coreDumps"`
	UserNamespace   string `json:"userNamespace"`
	Runtime         string `json:"runtime"`
}

// Runtime names the container runtime that ran the steps: versions go to
// runDetails.builder.builderDependencies, snapshotter and namespace to
// internalParameters.runtime.
type Runtime struct {
	Containerd, Runc, Runsc string // Runsc: gVisor's version, under gVisor
	Snapshotter, Namespace  string
}
