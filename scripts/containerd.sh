#!/usr/bin/env bash
# Private containerd for slsabox's demo and tests: its own root, state, socket and
# config (CRI off), so that it never touches a containerd the machine already runs.
#
#   scripts/containerd.sh start|stop|restart|status|address
#
# Environment: SLSABOX_RUN (default /run/slsabox) holds the socket, state and log;
# SLSABOX_ROOT (default /var/lib/slsabox) holds images and snapshots across runs.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/say.sh
source "$(dirname "$0")/lib/say.sh"
# shellcheck source=SCRIPTDIR/lib/daemon.sh
source "$(dirname "$0")/lib/daemon.sh"
# shellcheck source=SCRIPTDIR/lib/apt.sh
source "$(dirname "$0")/lib/apt.sh"

run_dir=${SLSABOX_RUN:-/run/slsabox}/containerd
root_dir=${SLSABOX_ROOT:-/var/lib/slsabox}/containerd
sock=$run_dir/containerd.sock
pidfile=$run_dir/containerd.pid
log=$run_dir/containerd.log

ensure_installed() {
  # containerd-shim-runc-v2 comes with Debian's containerd; ctr too.
  apt_ensure containerd containerd-shim-runc-v2:containerd ctr:containerd runc || exit 3
}

running() {
  daemon_alive "$pidfile" && [[ -S $sock ]]
}

answers() { [[ -S $sock ]] && ctr -a "$sock" version >/dev/null 2>&1; }

start() {
  ensure_installed
  if running; then say "already running at $sock"; return 0; fi
  mkdir -p "$run_dir" "$root_dir"
  chmod 0711 "$run_dir"
  cat >"$run_dir/config.toml" <<TOML
version = 2
root = "$root_dir"
state = "$run_dir/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$sock"
[ttrpc]
  address = "$sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
TOML
  say "starting private containerd ($(containerd --version | awk '{print $3}'), runc $(runc --version | awk 'NR==1{print $3}')) at $sock"
  daemon_launch "$pidfile" "$log" containerd --config "$run_dir/config.toml"
  if daemon_await "$pidfile" 100 answers; then
    say "ready (log: $log)"
    return 0
  fi
  daemon_failed containerd "$log"
  exit 3
}

stop() {
  if [[ -f $pidfile ]]; then
    daemon_stop 50 "$pidfile"
    say "stopped"
  fi
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) if running; then echo "running at $sock (pid $(cat "$pidfile"))"; else echo "not running"; exit 3; fi ;;
  address) echo "$sock" ;;
  *) echo "usage: $0 start|stop|restart|status|address" >&2; exit 2 ;;
esac
