#!/usr/bin/env bash
# gVisor for slsabox's `sandbox.runtime: gvisor`: runsc, containerd's runsc shim and a
# containerd 2.x with its ctr, pinned and built static from the Go module proxy, and a
# private containerd daemon that runs containers under gVisor.
#
#   scripts/gvisor.sh install|start|stop|restart|status|address|env
#
# install builds, once, into a directory of their own that is never on the caller's
# PATH (its containerd must not shadow Debian's):
#   runsc                     gvisor.dev/gvisor/runsc at $gvisor_version
#   containerd-shim-runsc-v1  gvisor.dev/gvisor/shim at the same version, ALWAYS with
#                             scripts/gvisor/shim-oom.patch applied. The shim lowers
#                             its own oom_score_adj, which needs CAP_SYS_RESOURCE, and
#                             some hosts' capability bounding set lacks it; patched, the
#                             shim goes on when that write is refused (silently: a
#                             log line would break containerd's reading of its start
#                             answer), and behaves as upstream's otherwise. The marker
#                             file beside it records the version and the patch's sha256.
#   containerd, ctr           github.com/containerd/containerd/v2 at $containerd_version
#                             (the gVisor shim needs containerd 1.7 or later; Debian 12
#                             has 1.6)
# All are static (CGO_ENABLED=0): a dynamically linked runsc fails in the chroot it
# makes for itself (docs/threat-model.md, "gVisor (runsc)"). A tool already built at
# its pinned version is kept.
#
# start runs install, then a private containerd (CRI and NRI off; its own root, state,
# sockets and runsc root) whose PATH starts with the tools' directory: runtime
# io.containerd.runsc.v1 finds the shim there and the shim finds runsc, while the runc
# shim stays reachable through the normal PATH. It writes runsc.toml, the runsc shim's
# options for a container (this daemon's runsc and runsc root, --network=none,
# --platform=systrap). The shim reads runsc flags only from the file a client names
# per container, as the ConfigPath of the runtime options (runtimeoptions.v1.Options;
# ConfigBody is ignored); the daemon has no place for them. Every container of a pod
# must name the same file: a subcontainer's runsc finds the sandbox under its root.
# (Each gVisor shim's own socket is still made in /run/containerd/s, a path the shim
# fixes.) env prints, for eval, the exports
# SLSABOX_GVISOR_CONTAINERD (the socket), SLSABOX_GVISOR_BIN (the tools' directory),
# SLSABOX_GVISOR_RUNSC_CONFIG (runsc.toml, for ctr) and SLSABOX_RUNSC (the runsc that
# slsabox build --runtime gvisor names to the shim and records).
#
# Environment:
#   SLSABOX_GVISOR_RUN   socket, state, log, runsc.toml and runsc's root
#                        (default ${SLSABOX_RUN:-/run/slsabox}-gvisor)
#   SLSABOX_GVISOR_ROOT  images and snapshots, kept across runs
#                        (default ${SLSABOX_ROOT:-/var/lib/slsabox}-gvisor)
#   SLSABOX_CACHE        where the tools are built (default ~/.cache/slsabox)
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/say.sh
source "$(dirname "$0")/lib/say.sh"
# shellcheck source=SCRIPTDIR/lib/daemon.sh
source "$(dirname "$0")/lib/daemon.sh"
# shellcheck source=SCRIPTDIR/lib/apt.sh
source "$(dirname "$0")/lib/apt.sh"

gvisor_version=v0.0.0-20260905035102-160fafc42237
containerd_version=v2.4.2
patch_file=$(cd "$(dirname "$0")" && pwd)/gvisor/shim-oom.patch
tool_dir=${SLSABOX_CACHE:-$HOME/.cache/slsabox}/tools/gvisor-$gvisor_version
shim_marker=$tool_dir/containerd-shim-runsc-v1.built

run_dir=${SLSABOX_GVISOR_RUN:-${SLSABOX_RUN:-/run/slsabox}-gvisor}
root_dir=${SLSABOX_GVISOR_ROOT:-${SLSABOX_ROOT:-/var/lib/slsabox}-gvisor}/containerd
sock=$run_dir/containerd.sock
pidfile=$run_dir/containerd.pid
log=$run_dir/containerd.log
runsc_config=$run_dir/runsc.toml

# --- install -------------------------------------------------------------------

# go_env runs go with this script's settings only: no GOFLAGS or workspace of the
# caller's, no cgo.
go_env() { GOFLAGS='' GOWORK=off CGO_ENABLED=0 go "$@"; }

# built_at BIN MODULE VERSION: BIN was built static from MODULE at VERSION.
built_at() {
  local info
  [[ -x $1 ]] || return 1
  info=$(go version -m "$1" 2>/dev/null) || return 1
  grep -qE "^\s+mod\s+$2\s+$3\s" <<<"$info" && grep -qE "^\s+build\s+CGO_ENABLED=0$" <<<"$info"
}

# shim_stamp: what the marker of a patched shim at the pinned version says.
shim_stamp() {
  echo "gvisor.dev/gvisor/shim@$gvisor_version patched with scripts/gvisor/shim-oom.patch sha256:$(sha256sum <"$patch_file" | cut -d' ' -f1)"
}

shim_built() {
  [[ -x $tool_dir/containerd-shim-runsc-v1 && -f $shim_marker && $(<"$shim_marker") == "$(shim_stamp)" ]] &&
    go version -m "$tool_dir/containerd-shim-runsc-v1" 2>/dev/null | grep -qE "^\s+build\s+CGO_ENABLED=0$"
}

build_runsc() {
  say "building runsc ($gvisor_version) into $tool_dir (about 5 min on 2 cores, once)"
  # The version is stamped as gVisor's release builds do, for runsc --version.
  (cd / && GOBIN=$tool_dir go_env install -trimpath \
    -ldflags "-X gvisor.dev/gvisor/runsc/version.version=$gvisor_version" "gvisor.dev/gvisor/runsc@$gvisor_version")
}

# build_shim builds the shim in a patched copy of gVisor's module, its own main
# module there, so that the dependencies are gVisor's go.sum's.
build_shim() {
  say "building containerd-shim-runsc-v1 ($gvisor_version, patched: scripts/gvisor/shim-oom.patch) into $tool_dir (about 1 min, once)"
  apt_ensure patch || exit 3
  local src scratch manager oom_error='return shim.BootstrapParams{}, fmt.Errorf("failed to set OOM Score on shim: %w", err)'
  src=$(cd / && go_env mod download -json "gvisor.dev/gvisor@$gvisor_version" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p') || src=
  [[ -n $src && -f $src/go.mod ]] || die "could not download gvisor.dev/gvisor@$gvisor_version" "check that the Go module proxy answers (go env GOPROXY)" 3
  scratch=$(mktemp -d "$tool_dir/.shim-src.XXXXXX")
  # shellcheck disable=SC2064 # the path is fixed now
  trap "rm -rf '$scratch'" EXIT
  cp -R "$src/." "$scratch"
  chmod -R u+w "$scratch"
  manager=$scratch/pkg/shim/v1/manager.go
  if [[ $(grep -cF "$oom_error" "$manager") != 1 || $(grep -cF 'sys.SetOOMScore(' "$manager") != 1 ]] ||
     ! patch -d "$scratch" -p1 --forward --fuzz=0 --no-backup-if-mismatch -r - --quiet <"$patch_file" >&2 ||
     [[ $(grep -cF 'slsabox patch (scripts/gvisor/shim-oom.patch)' "$manager") != 1 ]]; then
    die "scripts/gvisor/shim-oom.patch does not apply exactly once to pkg/shim/v1/manager.go of gvisor.dev/gvisor@$gvisor_version" \
      "gVisor's OOM score code changed: update the patch for this version (the shim must go on when oom_score_adj cannot be lowered)"
  fi
  # -buildvcs=false: the copy may lie inside someone's git checkout (SLSABOX_CACHE).
  (cd "$scratch" && go_env build -trimpath -buildvcs=false -o "$tool_dir/.containerd-shim-runsc-v1.new" ./shim)
  rm -f "$shim_marker"
  mv "$tool_dir/.containerd-shim-runsc-v1.new" "$tool_dir/containerd-shim-runsc-v1"
  shim_stamp >"$shim_marker"
  rm -rf "$scratch"
  trap - EXIT
}

build_containerd() {
  say "building containerd and ctr ($containerd_version) into $tool_dir (about 2 min, once)"
  # containerd's own go.mod pins the dependencies; the tags leave out the snapshotters
  # that need cgo or tools this daemon doesn't use.
  (cd / && GOBIN=$tool_dir go_env install -trimpath -tags "no_btrfs no_devmapper no_zfs" \
    "github.com/containerd/containerd/v2/cmd/containerd@$containerd_version" \
    "github.com/containerd/containerd/v2/cmd/ctr@$containerd_version")
}

install() {
  if ! command -v go >/dev/null; then
    die "go is not installed: install builds runsc, its shim and containerd from the Go module proxy" \
      "install Go 1.26.6 or later (or Go 1.21 or later with GOTOOLCHAIN=auto, the default, which fetches it; on GitHub, actions/setup-go), or point slsabox at a containerd that already runs gVisor (--containerd-address)" 3
  fi
  mkdir -p "$tool_dir"
  # One install at a time: a second waits and then finds the tools built.
  exec 8>"$tool_dir/.lock"
  flock 8
  local t0
  if ! built_at "$tool_dir/runsc" gvisor.dev/gvisor "$gvisor_version"; then
    t0=$SECONDS; build_runsc; say "runsc built in $((SECONDS - t0)) s"
  fi
  if ! shim_built; then
    t0=$SECONDS; build_shim; say "containerd-shim-runsc-v1 built in $((SECONDS - t0)) s"
  fi
  if ! built_at "$tool_dir/containerd" github.com/containerd/containerd/v2 "$containerd_version" ||
     ! built_at "$tool_dir/ctr" github.com/containerd/containerd/v2 "$containerd_version"; then
    t0=$SECONDS; build_containerd; say "containerd and ctr built in $((SECONDS - t0)) s"
  fi
  exec 8>&-
}

# --- daemon --------------------------------------------------------------------

running() { daemon_alive "$pidfile" "$run_dir/config.toml" && [[ -S $sock ]]; }

answers() { [[ -S $sock ]] && "$tool_dir/ctr" -a "$sock" version >/dev/null 2>&1; }

write_config() {
  # Version 4, containerd 2.4's own: the servers' addresses are plugin settings
  # there (a top-level [grpc] table is ignored, and the daemon would listen on
  # /run/containerd/containerd.sock). imports is emptied: its default reads
  # /etc/containerd/conf.d. Off: CRI's plugins, NRI (a socket in /var/run/nri,
  # plugins in /opt/nri), opt (puts /opt/containerd/bin first on the daemon's PATH)
  # and the image verifiers of /opt/containerd/image-verifier/bin.
  cat >"$run_dir/config.toml" <<TOML
version = 4
root = "$root_dir"
state = "$run_dir/state"
imports = []
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.cri.v1.images",
  "io.containerd.cri.v1.runtime",
  "io.containerd.podsandbox.controller.v1.podsandbox",
  "io.containerd.nri.v1.nri",
  "io.containerd.internal.v1.opt",
  "io.containerd.image-verifier.v1.bindir",
]
[plugins."io.containerd.server.v1.grpc"]
  address = "$sock"
[plugins."io.containerd.server.v1.ttrpc"]
  address = "$sock.ttrpc"
[plugins."io.containerd.server.v1.debug"]
  address = ""
[plugins."io.containerd.server.v1.metrics"]
  address = ""
TOML
  # The runsc shim's options (pkg/shim/v1/runsc/options.go in gVisor): runsc by its
  # path, its state under this daemon's run directory, runsc flags in runsc_config.
  cat >"$runsc_config.tmp" <<TOML
# Options of containerd-shim-runsc-v1 for containers of the daemon at $sock. A client
# names this file per container: runtime io.containerd.runsc.v1 with the runtime
# options runtimeoptions.v1.Options{ConfigPath: "$runsc_config"}.
binary_name = "$tool_dir/runsc"
root = "$run_dir/runsc"

[runsc_config]
  network = "none"
  platform = "systrap"
TOML
  mv "$runsc_config.tmp" "$runsc_config"
}

start() {
  install
  if running; then say "already running at $sock"; return 0; fi
  mkdir -p "$run_dir" "$root_dir"
  chmod 0711 "$run_dir"
  write_config
  say "starting private containerd $containerd_version with gVisor ($gvisor_version) at $sock"
  # PATH: the daemon finds containerd-shim-runsc-v1 and runsc in tool_dir first.
  daemon_launch "$pidfile" "$log" env PATH="$tool_dir:$PATH" "$tool_dir/containerd" --config "$run_dir/config.toml"
  if daemon_await "$pidfile" 100 answers; then
    say "ready (log: $log; eval \"\$($0 env)\" sets SLSABOX_GVISOR_CONTAINERD)"
    return 0
  fi
  daemon_failed containerd "$log"
  stop
  exit 3
}

# stop stops the daemon; like containerd.sh's, it leaves running containers (their
# shims and runsc sandboxes) alone, but says when there are any. When none is left,
# it also unmounts what runsc never does: the empty network namespace it pins for
# its gofers at ROOT/NAMESPACE/null-netns (runsc/container/null_netns.go in gVisor).
stop() {
  if [[ -f $pidfile ]]; then
    daemon_stop 50 "$pidfile"
    say "stopped"
  fi
  local left m
  left=$(pgrep -c -f -- "--root=$run_dir/runsc/" || true)
  if ((left)); then
    say "warning: $left runsc processes of this daemon still run (pgrep -af -- --root=$run_dir/runsc/);"
    say "start it again and delete their tasks (ctr -a $sock -n NAMESPACE tasks kill -s KILL ID, then tasks delete ID)"
    return 0
  fi
  for m in "$run_dir"/runsc/*/null-netns; do
    [[ -e $m ]] || continue
    # Concurrent cold starts may have stacked several mounts there.
    while umount "$m" 2>/dev/null; do :; done
    rm -f "$m"
  done
}

env_exports() {
  printf 'export SLSABOX_GVISOR_CONTAINERD=%q\n' "$sock"
  printf 'export SLSABOX_GVISOR_BIN=%q\n' "$tool_dir"
  printf 'export SLSABOX_GVISOR_RUNSC_CONFIG=%q\n' "$runsc_config"
  # The runsc slsabox names in each build's runsc options, and whose version it records.
  printf 'export SLSABOX_RUNSC=%q\n' "$tool_dir/runsc"
}

case ${1:-} in
  install) install ;;
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) if running; then echo "running at $sock (pid $(cat "$pidfile"))"; else echo "not running"; exit 3; fi ;;
  address) echo "$sock" ;;
  env) env_exports ;;
  *) echo "usage: $0 install|start|stop|restart|status|address|env" >&2; exit 2 ;;
esac
