package builder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
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
	Seccomp        string `json:"seccomp"`         // "containerd-default"
	SeccompDigest  string `json:"seccompDigest"`   // sha256 of the profile as applied
	TmpSize        int64  `json:"tmpSize"`         // bytes of tmpfs at /tmp (counts against memory)
	Hostname       string `json:"hostname"`
	SourceWritable bool   `json:"sourceWritable"` // /src is a throwaway copy the build may write
}

// DefaultSandboxUID is the user steps run as. No account on a normal host has it, so a
// process that escaped the sandbox would own nothing there. It can be changed with
// WithSandboxUser where it collides.
const DefaultSandboxUID = 48213

// stepMounts are the binds and the tmpfs every step gets.
func stepMounts(srcDir, outDir, inputsDir string, tmpSize int64) []specs.Mount {
	m := []specs.Mount{
		{Destination: "/src", Type: "bind", Source: srcDir, Options: []string{"rbind", "rw", "nosuid", "nodev"}},
		{Destination: "/out", Type: "bind", Source: outDir, Options: []string{"rbind", "rw", "nosuid", "nodev"}},
		{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=1777", "size=" + strconv.FormatInt(tmpSize, 10)}},
	}
	if inputsDir != "" {
		m = append(m, specs.Mount{Destination: "/inputs", Type: "bind", Source: inputsDir, Options: []string{"rbind", "ro", "nosuid", "nodev"}})
	}
	return m
}

// stepSpec returns the OCI spec options for one step. The environment is exactly env:
// nothing of the host's leaks in.
func stepSpec(sb Sandbox, args, env []string, limits Limits, mounts []specs.Mount) []oci.SpecOpts {
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
		withNewNetworkNamespace,
		seccomp.WithDefaultProfile(), // after the capabilities: the profile depends on them
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

// seccompDigest returns the sha256 of the profile containerd's default generates for a
// process without capabilities, as applied to every step.
func seccompDigest() string {
	s := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{}}, Linux: &specs.Linux{}}
	b, err := json.Marshal(seccomp.DefaultProfile(s))
	if err != nil {
		panic(fmt.Sprintf("seccomp profile does not marshal: %v", err))
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
