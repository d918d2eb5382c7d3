package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/spf13/pflag"

	"github.com/slsabox/slsabox/attest/verify/trustroot"
	"github.com/slsabox/slsabox/internal/hint"
)

// tufFlags say where the default trusted root is refreshed from (trustroot.Load):
// Sigstore's public-good TUF repository, or a private instance's mirror and root.
type tufFlags struct {
	mirror, root, cache string
	offline             bool
	offlineEnv          string // SLSABOX_OFFLINE, parsed in load so a bad value is a usage error
	changed             func(string) bool
}

func (t *tufFlags) register(f *pflag.FlagSet) {
	f.StringVar(&t.mirror, "tuf-mirror", os.Getenv("SLSABOX_TUF_MIRROR"), "TUF repository to refresh the trusted root from, for a private Sigstore instance or a mirror (env SLSABOX_TUF_MIRROR; default "+trustroot.PublicGoodMirror+")")
	f.StringVar(&t.root, "tuf-root", os.Getenv("SLSABOX_TUF_ROOT"), "the TUF root.json that --tuf-mirror is trusted from (env SLSABOX_TUF_ROOT; default: Sigstore's public-good one, built in)")
	f.BoolVar(&t.offline, "offline", false, "never refresh the trusted root: use the cached one, else the one built in (env SLSABOX_OFFLINE=1)")
	t.cache = os.Getenv("SLSABOX_TUF_CACHE")
	t.offlineEnv = os.Getenv("SLSABOX_OFFLINE")
	t.changed = func(name string) bool { return f.Changed(name) }
}

// explicit says whether a --tuf-* flag was given on the command line.
func (t *tufFlags) explicit() bool {
	return t.changed != nil && (t.changed("tuf-mirror") || t.changed("tuf-root"))
}

// conflicts refuses TUF flags beside --trusted-root, which replaces the refresh
// (the environment variables are then ignored: they are defaults).
func (t *tufFlags) conflicts() error {
	for _, name := range []string{"tuf-mirror", "tuf-root"} {
		if t.explicit() && t.changed(name) {
			return usageError{fmt.Errorf("--%s conflicts with --trusted-root: the trusted root is either given or refreshed through TUF", name)}
		}
	}
	return nil
}

// load returns the trusted root to verify with, refreshed or, with a warning, the
// fallback.
func (t *tufFlags) load(ctx context.Context) (*trustroot.Root, error) {
	var opts []trustroot.Option
	offline := t.offline
	if t.offlineEnv != "" && !t.changed("offline") {
		v, err := strconv.ParseBool(t.offlineEnv)
		if err != nil {
			return nil, usageError{fmt.Errorf("SLSABOX_OFFLINE=%q: give 1 or 0", t.offlineEnv)}
		}
		offline = v
	}
	if offline {
		opts = append(opts, trustroot.WithOffline())
	}
	if t.mirror != "" {
		opts = append(opts, trustroot.WithMirror(t.mirror))
	}
	if t.root != "" {
		data, err := os.ReadFile(t.root)
		if err != nil {
			return nil, usageError{fmt.Errorf("--tuf-root: %w", err)}
		}
		opts = append(opts, trustroot.WithTUFRoot(data))
	}
	if t.cache != "" {
		opts = append(opts, trustroot.WithCacheDir(t.cache))
	}
	r, err := trustroot.Load(ctx, opts...)
	if err != nil {
		return nil, hint.Wrap(err, "run once with the TUF repository reachable, or give the trusted_root.json with --trusted-root")
	}
	return r, nil
}

// trustRootWarning is why r is not a fresh root, on one line, for --output json.
func trustRootWarning(r *trustroot.Root) string {
	if errors.Is(r.Warning, trustroot.ErrRejected) {
		return "TUF SECURITY FAILURE: the trusted root was not updated: " + r.Warning.Error()
	}
	return r.Warning.Error()
}

// warnTrustRoot says which root verify fell back to and why; a TUF verification
// failure is an attack until shown otherwise, so it says so first.
func warnTrustRoot(w io.Writer, r *trustroot.Root) {
	if errors.Is(r.Warning, trustroot.ErrRejected) {
		fmt.Fprintf(w, "slsabox: warning: TUF SECURITY FAILURE: the trusted root was not updated, the repository's metadata failed verification (rollback, bad signature, hash mismatch or expired metadata): %s\n", termSafe(r.Warning.Error()))
		fmt.Fprintf(w, "slsabox: warning: using %s; tell the repository's operators, and do not trust a root it serves until this is explained\n", termSafe(r.Name))
		return
	}
	fmt.Fprintf(w, "slsabox: warning: using %s, not a fresh one: %s\n", termSafe(r.Name), termSafe(r.Warning.Error()))
}
