#!/usr/bin/env bash
# A real local Rekor v2 transparency log for slsabox's demo and tests: the pinned
# rekor-tiles server (POSIX storage), on 127.0.0.1 only, with a signing key made once
# and kept, and a trusted_root.json that lets verifiers check its proofs offline.
#
#   scripts/rekor.sh start|stop|restart|status|url|trusted-root
#
# Environment (the same for every command):
#   SLSABOX_REKOR_STATE   key, origin and log storage, kept across runs
#                         (default ${SLSABOX_ROOT:-/var/lib/slsabox}/rekor)
#   SLSABOX_REKOR_RUN     pid file, log and trusted_root.json
#                         (default ${SLSABOX_RUN:-/run/slsabox}/rekor)
#   SLSABOX_REKOR_PORT, SLSABOX_REKOR_GRPC_PORT, SLSABOX_REKOR_METRICS_PORT
#                         HTTP API, gRPC and metrics ports (default 3410, 3411, 3412)
#   SLSABOX_REKOR_ORIGIN  checkpoint origin, fixed at the first start (default 127.0.0.1)
#   SLSABOX_REKOR_BIN     a rekor-tiles posix server to use instead of the pinned build
#   SLSABOX_CACHE         where the pinned server is built (default ~/.cache/slsabox)
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/say.sh
source "$(dirname "$0")/lib/say.sh"
# shellcheck source=SCRIPTDIR/lib/daemon.sh
source "$(dirname "$0")/lib/daemon.sh"
# shellcheck source=SCRIPTDIR/lib/apt.sh
source "$(dirname "$0")/lib/apt.sh"

repo=$(cd "$(dirname "$0")/.." && pwd)
pin=github.com/sigstore/rekor-tiles/v2/cmd/rekor-server/posix@v2.3.0
tool_dir=${SLSABOX_CACHE:-$HOME/.cache/slsabox}/tools/rekor-tiles-${pin##*@}
bin=${SLSABOX_REKOR_BIN:-$tool_dir/posix}

state_dir=${SLSABOX_REKOR_STATE:-${SLSABOX_ROOT:-/var/lib/slsabox}/rekor}
run_dir=${SLSABOX_REKOR_RUN:-${SLSABOX_RUN:-/run/slsabox}/rekor}
key=$state_dir/log.key
pub=$state_dir/log.pub
created=$state_dir/created
origin_file=$state_dir/origin
storage=$state_dir/storage
pidfile=$run_dir/rekor.pid
log=$run_dir/rekor.log
root_json=$run_dir/trusted_root.json

http_port=${SLSABOX_REKOR_PORT:-3410}
grpc_port=${SLSABOX_REKOR_GRPC_PORT:-3411}
metrics_port=${SLSABOX_REKOR_METRICS_PORT:-3412}

# The origin is written into every checkpoint, so it is chosen once with the key.
# Verifiers (sigstore-go, cosign) take it from the host of the trusted root's
# baseUrl, which is therefore http://ORIGIN:PORT.
origin() {
  if [[ -f $origin_file ]]; then cat "$origin_file"; else echo "${SLSABOX_REKOR_ORIGIN:-127.0.0.1}"; fi
}
url() { echo "http://$(origin):$http_port"; }

ensure_installed() {
  [[ -x $bin ]] && return 0
  if [[ -n ${SLSABOX_REKOR_BIN:-} ]]; then say "SLSABOX_REKOR_BIN=$bin is not an executable"; exit 2; fi
  say "building $pin into $tool_dir (about 1.5 min the first time, cached afterwards)"
  mkdir -p "$tool_dir"
  (cd / && GOFLAGS='' GOBIN=$tool_dir go install "$pin")
}

# ensure_key makes the log's identity once: an ECDSA P-256 key (PKCS#8 PEM, as
# rekor-tiles' --signer-filepath reads it), the time it was made (the start of its
# validity in the trusted root) and the origin. Losing them orphans every proof.
ensure_key() {
  mkdir -p "$state_dir" "$storage"
  chmod 0700 "$state_dir"
  local want=${SLSABOX_REKOR_ORIGIN:-}
  if [[ -f $origin_file && -n $want && $want != "$(cat "$origin_file")" ]]; then
    say "SLSABOX_REKOR_ORIGIN=$want, but this log's origin is $(cat "$origin_file") for good;"
    say "unset it, or point SLSABOX_REKOR_STATE at a new directory for a new log"
    exit 2
  fi
  if [[ -f $key ]]; then return 0; fi
  if [[ -n $(ls -A "$storage") ]]; then
    say "$storage holds a log but $key is missing: its proofs cannot be signed again;"
    say "restore the key, or move $state_dir away to start a new log"
    exit 2
  fi
  apt_ensure openssl || exit 2   # once, to make the log key
  say "making the log's signing key $key (once; keep it, old proofs need it)"
  local tmp
  tmp=$(mktemp "$state_dir/.log.key.XXXXXX")
  if ! openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp" 2>/dev/null ||
     ! openssl pkey -in "$tmp" -pubout -out "$pub" 2>/dev/null; then
    rm -f "$tmp"; say "openssl could not make an ECDSA P-256 key"; exit 1
  fi
  date -u +%Y-%m-%dT%H:%M:%SZ >"$created"
  origin >"$origin_file.tmp" && mv "$origin_file.tmp" "$origin_file"
  mv "$tmp" "$key"
}

write_trusted_root() {
  local tmp
  tmp=$(mktemp "$run_dir/.trusted_root.XXXXXX")
  if ! (cd "$repo" && go run ./internal/cmd/trustedroot -log-url "$(url)" -origin "$(origin)" \
      -log-key "$pub" -start "$(cat "$created")" -out "$tmp"); then
    rm -f "$tmp"; say "could not write $root_json"; exit 1
  fi
  mv "$tmp" "$root_json"
}

# running: the pid must still be our server, not a process that reused the number.
running() { daemon_alive "$pidfile" "--storage-dir=$storage"; }

healthy() { curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:$http_port/healthz" 2>/dev/null; }
ready() { healthy && running; }

start() {
  ensure_installed
  mkdir -p "$run_dir"
  ensure_key
  if running; then
    # A second server on the same storage would corrupt it: never start one.
    if ! tr '\0' ' ' <"/proc/$(cat "$pidfile")/cmdline" | grep -qF -- "--http-port=$http_port "; then
      say "already running (pid $(cat "$pidfile")) on other ports than SLSABOX_REKOR_PORT=$http_port; run $0 stop first"
      exit 2
    fi
    write_trusted_root
    say "already running at $(url) (pid $(cat "$pidfile"))"
    return 0
  fi
  if healthy; then
    say "something else already answers on 127.0.0.1:$http_port; stop it or set SLSABOX_REKOR_PORT"; exit 3
  fi
  say "starting Rekor v2 (rekor-tiles ${pin##*@}) at $(url), origin $(origin)"
  # --http-address also binds the metrics listener, so everything stays on 127.0.0.1.
  daemon_launch "$pidfile" "$log" "$bin" serve \
    --hostname="$(origin)" \
    --http-address=127.0.0.1 --http-port="$http_port" \
    --grpc-address=127.0.0.1 --grpc-port="$grpc_port" \
    --http-metrics-port="$metrics_port" \
    --storage-dir="$storage" --signer-filepath="$key" \
    --checkpoint-interval=1s
  if daemon_await "$pidfile" 300 ready; then
    write_trusted_root
    say "ready at $(url) (log: $log, trusted root: $root_json)"
    return 0
  fi
  daemon_failed "Rekor on 127.0.0.1:$http_port" "$log"
  stop_server
  exit 3
}

# stop_server gives the server 30 s to flush its pending batch and checkpoint.
stop_server() {
  if running; then daemon_stop 300 "$pidfile"; fi
  rm -f "$pidfile"
}

stop() {
  if running; then stop_server; say "stopped"; else rm -f "$pidfile"; fi
}

case ${1:-} in
  start) with_lock "$run_dir" start ;;
  stop) with_lock "$run_dir" stop ;;
  restart) with_lock "$run_dir" stop; start ;;
  status)
    if running && healthy; then echo "running at $(url) (pid $(cat "$pidfile"))"; else echo "not running"; exit 3; fi ;;
  url) url ;;
  pid) if running; then cat "$pidfile"; else echo "not running" >&2; exit 3; fi ;;
  trusted-root)
    if [[ -f $root_json ]]; then echo "$root_json"; else say "$root_json is not written yet; run $0 start"; exit 3; fi ;;
  *) echo "usage: $0 start|stop|restart|status|url|pid|trusted-root" >&2; exit 2 ;;
esac
