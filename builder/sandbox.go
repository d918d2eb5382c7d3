package builder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strconv"

	"github.com/containerd/containerd/v2/contrib/seccomp"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// Sandbox holds the isolation settings every step runs with. They are recorded in the
// provenance's internalParameters.
type Sandbox struct {
	UID            uint32 `json:"uid"`
	GID            uint32 `json:"gid"`
	Network        string `json:"network"`         // always "none": a fresh network namespace with only lo
	RootFS         string `json:"rootfs"`          // always "read-only"
	Capabilities   string `json:"capabilities"`    // always "none"
	NoNewPrivs     bool   `json:"noNewPrivileges"` // always true
	Seccomp        string `json:"seccomp"`         // seccompProfile
	SeccompDigest  string `json:"seccompDigest"`   // sha256 of the profile as applied
	TmpSize        int64  `json:"tmpSize"`         // bytes of tmpfs at /tmp (counts against memory)
	Hostname       string `json:"hostname"`
	SourceWritable bool   `json:"sourceWritable"` // /src is a throwaway copy the build may write
	// CgroupNamespace is always "private": a step sees its own cgroup as the root.
	CgroupNamespace string `json:"cgroupNamespace"`
	// CoreDumps is always "disabled": RLIMIT_CORE 0, whatever the daemon's limit.
	CoreDumps string `json:"coreDumps"`
	// UserNamespace is "private: ..." (usernsRecord) when steps ran in a user namespace
	// of their own, or "none: REASON".
	UserNamespace string `json:"userNamespace"`
	// Runtime is RuntimeRunc (steps on the host kernel) or RuntimeGVisor (steps under
	// gVisor's user-space kernel, in one pod per build).
	Runtime string `json:"runtime"`
}

// defaultSandboxUID is the user steps run as. No account on a normal host has it, so a
// process that escaped the sandbox would own nothing there. It can be changed with
// WithSandboxUser where it collides.
const defaultSandboxUID = 48213

// stepMounts are the binds and the tmpfs every step gets: /tmp is a tmpfs of tmpSize,
// or tmpDir (on the filesystem of limits.disk) when one is given.
func stepMounts(srcDir, outDir, inputsDir, tmpDir string, tmpSize int64) []specs.Mount {
	tmp := specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=1777", "size=" + strconv.FormatInt(tmpSize, 10)}}
	if tmpDir != "" {
		tmp = specs.Mount{Destination: "/tmp", Type: "bind", Source: tmpDir, Options: []string{"rbind", "rw", "nosuid", "nodev"}}
	}
	m := []specs.Mount{
		{Destination: "/src", Type: "bind", Source: srcDir, Options: []string{"rbind", "rw", "nosuid", "nodev"}},
		{Destination: "/out", Type: "bind", Source: outDir, Options: []string{"rbind", "rw", "nosuid", "nodev"}},
		tmp,
	}
	if inputsDir != "" {
		m = append(m, specs.Mount{Destination: "/inputs", Type: "bind", Source: inputsDir, Options: []string{"rbind", "ro", "nosuid", "nodev"}})
	}
	return m
}

// stepSpec returns the OCI spec options for one step. The environment is exactly env:
// nothing of the host's leaks in.
func stepSpec(sb Sandbox, ids *idRange, args, env []string, limits Limits, mounts []specs.Mount) []oci.SpecOpts {
	return []oci.SpecOpts{
		oci.WithProcessArgs(args...),
		oci.WithProcessCwd("/src"),
		oci.WithHostname(sb.Hostname),
		oci.WithRootFSReadonly(),
		oci.WithMounts(mounts),
		oci.WithUIDGID(sb.UID, sb.GID),
		withExactEnv(env),
		withNoCapabilities,
		oci.WithNoNewPrivileges,
		oci.WithMemoryLimit(uint64(limits.Memory)),
		oci.WithMemorySwap(limits.Memory), // swap counts with memory: no escape into swap
		oci.WithPidsLimit(limits.Pids),
		withCPUQuota(limits.CPUs),
		withNoCoreDumps,
		withNewNetworkNamespace,
		withNewCgroupNamespace,
		withUserNamespace(ids),
		seccomp.WithDefaultProfile(), // after the capabilities: the profile depends on them
		withNativeSyscallsOnly,
	}
}

// seccompProfile names the filter every step runs under: containerd's default profile
// for a process without capabilities, limited to the machine's native system call ABI.
const seccompProfile = "containerd-default-native"

// withNativeSyscallsOnly keeps only the native architecture in the profile (x86_64 on
// amd64, aarch64 on arm64). System calls through the other entry points (32-bit x86
// and x32 on amd64, 32-bit arm on arm64), old kernel attack surface that no build
// needs, then kill the process (SIGSYS), as systemd's SystemCallArchitectures=native
// does; and runc compiles a third of the filter, which starts every step about 20 ms
// sooner.
func withNativeSyscallsOnly(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
	if s.Linux == nil || s.Linux.Seccomp == nil {
		return fmt.Errorf("%w: no seccomp profile to restrict", ErrEnvironment)
	}
	nativeOnly(s.Linux.Seccomp)
	return nil
}

// nativeArch is the seccomp name of the architecture slsabox was built for.
var nativeArch = map[string]specs.Arch{
	"amd64": specs.ArchX86_64, "arm64": specs.ArchAARCH64, "s390x": specs.ArchS390X,
	"riscv64": specs.ArchRISCV64, "loong64": specs.ArchLOONGARCH64, "ppc64le": specs.ArchPPC64LE,
}[runtime.GOARCH]

func nativeOnly(p *specs.LinuxSeccomp) {
	if nativeArch != "" && slices.Contains(p.Architectures, nativeArch) {
		p.Architectures = []specs.Arch{nativeArch}
	}
}

func withExactEnv(env []string) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		s.Process.Env = append([]string(nil), env...)
		return nil
	}
}

// withNoCapabilities empties every capability set, ambient included.
func withNoCapabilities(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
	s.Process.Capabilities = &specs.LinuxCapabilities{
		Bounding: []string{}, Effective: []string{}, Permitted: []string{}, Inheritable: []string{}, Ambient: []string{},
	}
	return nil
}

// withNewNetworkNamespace makes sure the step gets a namespace of its own (runc brings
// up lo in it, nothing else), whatever the default spec said.
func withNewNetworkNamespace(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
	for i, ns := range s.Linux.Namespaces {
		if ns.Type == specs.NetworkNamespace {
			s.Linux.Namespaces[i].Path = ""
			return nil
		}
	}
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.NetworkNamespace})
	return nil
}

// cpuPeriod is the CFS period of a step's quota: the kernel's default, 100 ms.
const cpuPeriod = 100_000

// withCPUQuota lets the step's processes use cpus CPU-seconds per wall second between
// them (none when cpus is 0).
func withCPUQuota(cpus float64) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if cpus <= 0 {
			return nil
		}
		if s.Linux.Resources == nil {
			s.Linux.Resources = &specs.LinuxResources{}
		}
		if s.Linux.Resources.CPU == nil {
			s.Linux.Resources.CPU = &specs.LinuxCPU{}
		}
		quota, period := int64(cpus*cpuPeriod), uint64(cpuPeriod)
		s.Linux.Resources.CPU.Quota, s.Linux.Resources.CPU.Period = &quota, &period
		return nil
	}
}

// withNoCoreDumps sets RLIMIT_CORE to 0: a crashing step writes no core file into
// /src or /out (a core holds the process's memory), and runc would otherwise pass on
// the daemon's own limit.
func withNoCoreDumps(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
	s.Process.Rlimits = slices.DeleteFunc(s.Process.Rlimits, func(r specs.POSIXRlimit) bool { return r.Type == "RLIMIT_CORE" })
	s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_CORE", Hard: 0, Soft: 0})
	return nil
}

// withNewCgroupNamespace gives the step a cgroup namespace of its own: it sees its
// cgroup as the root, not the daemon's hierarchy and the names of other builds.
func withNewCgroupNamespace(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == specs.CgroupNamespace {
			return nil
		}
	}
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	return nil
}

// seccompDigest returns the sha256 of the profile containerd's default generates for a
// process without capabilities, limited to the native architecture, as applied to
// every step.
func seccompDigest() string {
	s := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{}}, Linux: &specs.Linux{}}
	p := seccomp.DefaultProfile(s)
	nativeOnly(p)
	b, err := json.Marshal(p)
	if err != nil {
		panic(fmt.Sprintf("seccomp profile does not marshal: %v", err))
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
