package ociarchive

import (
	"fmt"
	"path"
	"regexp"
	"runtime"
	"strings"
	"sync"
)

// Options describe the image around its layers. The zero value is valid:
// no name, no config, timestamps at the Unix epoch, the host's platform.
type Options struct {
	// Ref names the image, NAME[:TAG] (tag defaults to latest). It becomes the
	// index.json annotations org.opencontainers.image.ref.name (as given) and
	// io.containerd.image.name (fully qualified, e.g. docker.io/library/x:1).
	Ref string
	// Env, Cmd and WorkDir fill the image config; Env entries are KEY=VALUE,
	// WorkDir is absolute.
	Env     []string
	Cmd     []string
	WorkDir string
	// Entrypoint, User ("uid[:gid]" or a name) and Labels fill the image config too.
	Entrypoint []string
	User       string
	Labels     map[string]string
	// Mountpoints adds a last layer with the empty directories a read-only
	// sandbox rootfs needs as mountpoints: /src, /out, /inputs (0755), /tmp
	// (1777), and /dev, /run (0755), /proc, /sys (0555) for runc.
	Mountpoints bool
	// Epoch is every timestamp in the archive, in seconds since 1970 (for
	// example SOURCE_DATE_EPOCH); it must not be negative.
	Epoch int64
	// Platform defaults to the host's (runtime.GOARCH, runtime.GOOS).
	Platform Platform
	// TempDir holds spooled layer data; default os.TempDir().
	TempDir string
}

var (
	envKey    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`) })
	refDomain = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(localhost|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+|[A-Za-z0-9-]+:[0-9]+|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+:[0-9]+)$`)
	})
	refComponent = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*$`) })
	refTag       = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`) })
)

func (o *Options) validate() error {
	if o.Ref != "" {
		if _, err := fullName(o.Ref); err != nil {
			return err
		}
	}
	for _, kv := range o.Env {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || !envKey().MatchString(k) {
			return fmt.Errorf("%w: env %q is not KEY=VALUE with KEY made of letters, digits and _", errInvalidOptions, kv)
		}
	}
	if o.WorkDir != "" && (!path.IsAbs(o.WorkDir) || strings.ContainsRune(o.WorkDir, 0)) {
		return fmt.Errorf("%w: workdir %q must be an absolute path such as /src", errInvalidOptions, o.WorkDir)
	}
	if strings.ContainsRune(o.User, 0) {
		return fmt.Errorf("%w: user has a NUL byte", errInvalidOptions)
	}
	if o.Epoch < 0 {
		return fmt.Errorf("%w: epoch %d is before 1970; use SOURCE_DATE_EPOCH >= 0", errInvalidOptions, o.Epoch)
	}
	return nil
}

func (o *Options) platform() Platform {
	p := o.Platform
	if p.Architecture == "" {
		p.Architecture = runtime.GOARCH
	}
	if p.OS == "" {
		p.OS = runtime.GOOS
	}
	return p
}

// fullName validates an image reference NAME[:TAG] and returns it fully
// qualified the way containerd and Docker expand it.
func fullName(ref string) (string, error) {
	bad := func(why string) error {
		return fmt.Errorf("%w: image name %q %s; use a name like example.org/team/image:1", errInvalidOptions, ref, why)
	}
	if strings.Contains(ref, "@") {
		return "", bad("carries a digest, which the archive defines itself")
	}
	name, tag := ref, "latest"
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		name, tag = ref[:i], ref[i+1:]
		if !refTag().MatchString(tag) {
			return "", bad("has an invalid tag")
		}
	}
	parts := strings.Split(name, "/")
	domain := "docker.io"
	if len(parts) > 1 && refDomain().MatchString(parts[0]) && (strings.ContainsAny(parts[0], ".:") || parts[0] == "localhost") {
		domain, parts = parts[0], parts[1:]
	} else if len(parts) == 1 {
		parts = []string{"library", parts[0]}
	}
	for _, c := range parts {
		if !refComponent().MatchString(c) {
			return "", bad("has a path component that is not lowercase letters, digits and separators")
		}
	}
	full := domain + "/" + strings.Join(parts, "/") + ":" + tag
	if len(full) > 255 {
		return "", bad("is longer than 255 characters")
	}
	return full, nil
}
