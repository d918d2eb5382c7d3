#!/usr/bin/env bash
# A private OCI registry for slsabox's tests: Debian's docker-registry (distribution
# 2.x) with a config of its own, on 127.0.0.1 only, no auth, no debug listener, so that
# pulling builder images by digest is tested against a real registry.
#
#   scripts/registry.sh start|stop|restart|status|url|address
#   scripts/registry.sh oci start|stop|restart|status|url|address
#
# With "oci", a second registry that serves the OCI 1.1 referrers API
# (GET /v2/<name>/referrers/<digest>), which docker-registry 2.8 lacks (it keeps
# referrers in the tag schema only, and so does distribution v3.1.2, the newest
# distribution on the Go module proxy): internal/cmd/ociregistry, which is
# go-containerregistry's registry (the one `crane registry serve` runs) at the
# version go.mod pins, built into $SLSABOX_CACHE/tools. Blobs on disk, manifests in
# memory (gone when it stops).
#
# Environment (the same for every command):
#   SLSABOX_REGISTRY_PORT  port on 127.0.0.1 (default 5005)
#   SLSABOX_REGISTRY_OCI_PORT  port of the oci registry (default 5006)
#   SLSABOX_RUN            pid file, config and log under $SLSABOX_RUN/registry
#                          (default /run/slsabox)
#   SLSABOX_ROOT           blobs and manifests under $SLSABOX_ROOT/registry, kept
#                          across runs (default /var/lib/slsabox)
#
# The package's own service (which listens on every interface) is never started:
# a policy-rc.d keeps apt from starting it, and start stops it if it runs anyway.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/say.sh
source "$(dirname "$0")/lib/say.sh"
# shellcheck source=SCRIPTDIR/lib/daemon.sh
source "$(dirname "$0")/lib/daemon.sh"
# shellcheck source=SCRIPTDIR/lib/apt.sh
source "$(dirname "$0")/lib/apt.sh"

repo=$(cd "$(dirname "$0")/.." && pwd)
kind=docker-registry
if [[ ${1:-} == oci ]]; then kind=oci; shift; fi
if [[ $kind == oci ]]; then
  port=${SLSABOX_REGISTRY_OCI_PORT:-5006}
  run_dir=${SLSABOX_RUN:-/run/slsabox}/registry-oci
  root_dir=${SLSABOX_ROOT:-/var/lib/slsabox}/registry-oci
else
  port=${SLSABOX_REGISTRY_PORT:-5005}
  run_dir=${SLSABOX_RUN:-/run/slsabox}/registry
  root_dir=${SLSABOX_ROOT:-/var/lib/slsabox}/registry
fi
pidfile=$run_dir/registry.pid
config=$run_dir/config.yml
log=$run_dir/registry.log
addr=127.0.0.1:$port

# stop_package_service stops the Debian package's own daemon if something started it.
stop_package_service() {
  if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
    if systemctl is-active --quiet docker-registry 2>/dev/null; then
      say "stopping and disabling the docker-registry package's system service"
      systemctl disable --now docker-registry >/dev/null 2>&1 || true
    fi
  elif [[ -x /etc/init.d/docker-registry ]] && /etc/init.d/docker-registry status >/dev/null 2>&1; then
    say "stopping the docker-registry package's init service"
    /etc/init.d/docker-registry stop >/dev/null 2>&1 || true
  fi
}

# oci_bin builds internal/cmd/ociregistry once per go.sum (its go-containerregistry).
oci_bin() {
  local key
  key=$(cat "$repo/go.sum" "$repo/internal/cmd/ociregistry/main.go" | sha256sum | cut -c1-16)
  local bin=${SLSABOX_CACHE:-$HOME/.cache/slsabox}/tools/ociregistry-$key/ociregistry
  if [[ ! -x $bin ]]; then
    say "building internal/cmd/ociregistry into ${bin%/*}"
    mkdir -p "${bin%/*}"
    (cd "$repo" && CGO_ENABLED=0 go build -o "$bin.tmp" ./internal/cmd/ociregistry) || exit 3
    mv "$bin.tmp" "$bin"
  fi
  echo "$bin"
}

start_oci() {
  local bin
  bin=$(oci_bin)
  if running; then
    if answers; then say "already running at http://$addr"; return 0; fi
    say "pid $(cat "$pidfile") runs but http://$addr/v2/ does not answer; see $log"; exit 3
  fi
  if answers; then
    say "something else already answers at http://$addr/v2/; stop it or set SLSABOX_REGISTRY_OCI_PORT"; exit 3
  fi
  mkdir -p "$run_dir" "$root_dir"
  chmod 0700 "$run_dir" "$root_dir"
  say "starting ociregistry (referrers API) at http://$addr, blobs in $root_dir"
  daemon_launch "$pidfile" "$log" "$bin" -addr "$addr" -blobs "$root_dir" -quiet
  if daemon_await "$pidfile" 100 answers; then
    say "ready (log: $log)"
    return 0
  fi
  daemon_failed ociregistry "$log"
  stop
  exit 3
}

ensure_installed() {
  # apt_ensure keeps the package from starting its own service (on every interface).
  apt_ensure docker-registry curl || exit 3
  stop_package_service
}

running() { daemon_alive "$pidfile"; }

answers() {
  # GET /v2/ answers 200 with no auth configured.
  curl -fsS -o /dev/null --max-time 2 "http://$addr/v2/" 2>/dev/null
}

start() {
  if [[ $kind == oci ]]; then start_oci; return; fi
  ensure_installed
  if running; then
    if answers; then say "already running at http://$addr"; return 0; fi
    say "pid $(cat "$pidfile") runs but http://$addr/v2/ does not answer; see $log"; exit 3
  fi
  if answers; then
    say "something else already answers at http://$addr/v2/; stop it or set SLSABOX_REGISTRY_PORT"; exit 3
  fi
  mkdir -p "$run_dir" "$root_dir"
  chmod 0700 "$run_dir" "$root_dir"
  # No http.debug: no debug or metrics listener. No auth: loopback only.
  cat >"$config" <<YAML
version: 0.1
log:
  level: info
  fields:
    service: slsabox-test-registry
storage:
  filesystem:
    rootdirectory: $root_dir
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: $addr
  secret: $(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
  headers:
    X-Content-Type-Options: [nosniff]
YAML
  chmod 0600 "$config"
  say "starting docker-registry ($(docker-registry --version 2>/dev/null | awk '{print $NF}')) at http://$addr, storage $root_dir"
  daemon_launch "$pidfile" "$log" docker-registry serve "$config"
  if daemon_await "$pidfile" 100 answers; then
    say "ready (log: $log)"
    return 0
  fi
  daemon_failed docker-registry "$log"
  stop
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
  status) if running; then echo "running at http://$addr (pid $(cat "$pidfile"))"; else echo "not running"; exit 3; fi ;;
  url) echo "http://$addr" ;;
  address) echo "$addr" ;;
  *) echo "usage: $0 [oci] start|stop|restart|status|url|address" >&2; exit 2 ;;
esac
