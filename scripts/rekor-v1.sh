#!/usr/bin/env bash
# A real local Rekor v1 transparency log for slsabox's optional v1 test job: Rekor
# v1.5.4 on Trillian v1.8.0 (log server and log signer) on a private MariaDB from
# Debian, every listener on 127.0.0.1, with a signing key made once and kept, and a
# trusted_root.json that lets verifiers check its proofs offline.
#
#   scripts/rekor-v1.sh start|stop|restart|status|url|pid|trusted-root
#
# The contract is scripts/rekor.sh's (the Rekor v2 log); `pid` is rekor-server's, the
# process clients talk to; `stop` stops all four processes (MariaDB, the two Trillian
# servers, rekor-server); `start` starts whichever of them is not running.
#
# Environment (the same for every command):
#   SLSABOX_REKOR_V1_STATE  key, tree id, database password and MariaDB datadir, kept
#                           across runs (default ${SLSABOX_ROOT:-/var/lib/slsabox}/rekor-v1)
#   SLSABOX_REKOR_V1_RUN    pid files, logs, sockets, trusted_root.json
#                           (default ${SLSABOX_RUN:-/run/slsabox}/rekor-v1)
#   SLSABOX_REKOR_V1_PORT               rekor-server HTTP API (default 3430)
#   SLSABOX_REKOR_V1_MYSQL_PORT         MariaDB (default 3406)
#   SLSABOX_REKOR_V1_TRILLIAN_RPC_PORT  trillian_log_server gRPC (default 3431)
#   SLSABOX_REKOR_V1_TRILLIAN_HTTP_PORT trillian_log_server metrics and /healthz (default 3432)
#   SLSABOX_REKOR_V1_SIGNER_RPC_PORT    trillian_log_signer gRPC (default 3433)
#   SLSABOX_REKOR_V1_SIGNER_HTTP_PORT   trillian_log_signer metrics and /healthz (default
#                           2112, on purpose: see "metrics" below)
#   SLSABOX_CACHE           where the pinned servers are built (default ~/.cache/slsabox)
#
# metrics: rekor-server v1.5.4 always serves Prometheus metrics on ":2112", every
# interface, with no flag to change it, and ignores a failure to bind it. So the
# signer's own metrics listener takes 127.0.0.1:2112 first, rekor-server's bind then
# fails, and `start` checks that no listener of the stack is off loopback.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/say.sh
source "$(dirname "$0")/lib/say.sh"
# shellcheck source=SCRIPTDIR/lib/daemon.sh
source "$(dirname "$0")/lib/daemon.sh"
# shellcheck source=SCRIPTDIR/lib/trillian.sh
source "$(dirname "$0")/lib/trillian.sh"

repo=$(cd "$(dirname "$0")/.." && pwd)
rekor_version=v1.5.4
rekor_dir=${SLSABOX_CACHE:-$HOME/.cache/slsabox}/tools/rekor-$rekor_version
rekor_bin=$rekor_dir/rekor-server

state_dir=${SLSABOX_REKOR_V1_STATE:-${SLSABOX_ROOT:-/var/lib/slsabox}/rekor-v1}
run_dir=${SLSABOX_REKOR_V1_RUN:-${SLSABOX_RUN:-/run/slsabox}/rekor-v1}
key=$state_dir/log.key
pub=$state_dir/log.pub
created=$state_dir/created
tree_file=$state_dir/tree_id
schema=$state_dir/trillian-schema.sql
rekor_config=$run_dir/rekor-server.yaml
root_json=$run_dir/trusted_root.json

# For lib/trillian.sh.
stack_run=$run_dir
stack_front=rekor-server
stack_front_match=--config=$rekor_config
db_datadir=$state_dir/mysql
db_run=$run_dir/mysql
db_port=${SLSABOX_REKOR_V1_MYSQL_PORT:-3406}
db_name=trillian
db_password=$state_dir/mysql.password
trillian_flags=$run_dir/trillian.flags
stack_ports_hint='change its SLSABOX_REKOR_V1_*_PORT'

rekor_port=${SLSABOX_REKOR_V1_PORT:-3430}
trillian_rpc_port=${SLSABOX_REKOR_V1_TRILLIAN_RPC_PORT:-3431}
trillian_http_port=${SLSABOX_REKOR_V1_TRILLIAN_HTTP_PORT:-3432}
signer_rpc_port=${SLSABOX_REKOR_V1_SIGNER_RPC_PORT:-3433}
signer_http_port=${SLSABOX_REKOR_V1_SIGNER_HTTP_PORT:-2112}

# The processes of the stack, in start order; each has RUN/NAME.pid and RUN/NAME.log.
procs=(mariadb trillian_log_server trillian_log_signer rekor-server)

url() { echo "http://127.0.0.1:$rekor_port"; }

ensure_installed() {
  trillian_install "$schema"
  if [[ ! -x $rekor_bin ]]; then
    say "building github.com/sigstore/rekor/cmd/rekor-server@$rekor_version into $rekor_dir (minutes the first time, cached afterwards)"
    mkdir -p "$rekor_dir"
    (cd / && GOFLAGS='' GOBIN=$rekor_dir go install "github.com/sigstore/rekor/cmd/rekor-server@$rekor_version")
  fi
}

# ensure_key makes the log's identity once: an ECDSA P-256 key (PKCS#8 PEM, which
# rekor-server's file signer reads) and the time it was made (the start of its
# validity in the trusted root). Losing it orphans every proof and SET.
ensure_key() {
  mkdir -p "$state_dir"
  # 0711: MariaDB, running as its own user, must reach its datadir inside.
  chmod 0711 "$state_dir"
  if [[ -f $key ]]; then return 0; fi
  if [[ -f $tree_file ]]; then
    say "$tree_file names a log but $key is missing: its proofs cannot be signed again;"
    say "restore the key, or move $state_dir away to start a new log"
    exit 2
  fi
  say "making the log's signing key $key (once; keep it, old proofs need it)"
  local tmp
  tmp=$(mktemp "$state_dir/.log.key.XXXXXX")
  if ! openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp" 2>/dev/null ||
     ! openssl pkey -in "$tmp" -pubout -out "$pub" 2>/dev/null; then
    rm -f "$tmp"; say "openssl could not make an ECDSA P-256 key"; exit 1
  fi
  date -u +%Y-%m-%dT%H:%M:%SZ >"$created"
  mv "$tmp" "$key"
}

# --- Rekor -------------------------------------------------------------------

start_rekor() {
  if running rekor-server; then return 0; fi
  port_free "$rekor_port" "rekor-server"
  # An empty config file: rekor-server would otherwise read ~/.rekor-server.yaml or ./rekor-server.yaml.
  : >"$rekor_config"
  # No search index (it needs Redis or MySQL tables of its own): the retrieve API and
  # searchIndex are off; entries are looked up by index or UUID.
  launch rekor-server "$rekor_bin" serve --config="$rekor_config" --log_type=prod \
    --rekor_server.address=127.0.0.1 --port="$rekor_port" --rekor_server.hostname=127.0.0.1 \
    --trillian_log_server.address=127.0.0.1 --trillian_log_server.port="$trillian_rpc_port" \
    --trillian_log_server.tlog_id="$(cat "$tree_file")" \
    --rekor_server.signer="$key" \
    --enable_retrieve_api=false \
    --enabled_api_endpoints=getLogInfo,getPublicKey,getLogProof,createLogEntry,getLogEntryByIndex,getLogEntryByUUID,searchLogQuery
  await rekor-server http_ok "$(url)/api/v1/log"
}

# check_loopback stops the stack if any of its processes listens off 127.0.0.1.
check_loopback() {
  local name pid bad=""
  for name in "${procs[@]}"; do
    pid=$(cat "$run_dir/$name.pid")
    bad+=$(ss -Hltnp 2>/dev/null | grep -F "pid=$pid," | awk '$4 !~ /^(127\.0\.0\.1|\[::ffff:127\.0\.0\.1\]):/ {print}' || true)
  done
  if [[ -n $bad ]]; then
    say "a listener of the stack is not on 127.0.0.1; stopping:"; echo "$bad" >&2
    stack_stop
    exit 3
  fi
}

write_trusted_root() {
  local tmp
  tmp=$(mktemp "$run_dir/.trusted_root.XXXXXX")
  # Rekor v1's log id is sha256 of the DER public key, which the tool writes.
  if ! (cd "$repo" && go run ./internal/cmd/trustedroot -log-url "$(url)" \
      -log-key "$pub" -start "$(cat "$created")" -out "$tmp"); then
    rm -f "$tmp"; say "could not write $root_json"; exit 1
  fi
  mv "$tmp" "$root_json"
}

start() {
  ensure_installed
  mkdir -p "$run_dir"
  chmod 0711 "$run_dir"
  ensure_key
  local was_running=1 name
  for name in "${procs[@]}"; do running "$name" || was_running=0; done
  if ((!was_running)); then say "starting Rekor v1 ($rekor_version on Trillian $trillian_version and MariaDB) at $(url)"; fi
  db_start "$schema" --innodb-buffer-pool-size=64M --max-connections=300
  trillian_start "$tree_file" --display_name=slsabox --description="slsabox local Rekor v1 log"
  start_rekor
  check_loopback
  write_trusted_root
  if ((was_running)); then
    say "already running at $(url) (rekor-server pid $(cat "$run_dir/rekor-server.pid"))"
  else
    say "ready at $(url), tree $(cat "$tree_file") (logs: $run_dir/*.log, trusted root: $root_json)"
  fi
}

healthy() {
  local name
  for name in "${procs[@]}"; do running "$name" || return 1; done
  http_ok "$(url)/api/v1/log"
}

case ${1:-} in
  start) with_lock "$run_dir" start ;;
  stop) with_lock "$run_dir" stack_stop ;;
  restart) with_lock "$run_dir" stack_stop; start ;;
  status)
    if healthy; then echo "running at $(url) (rekor-server pid $(cat "$run_dir/rekor-server.pid"))"
    else echo "not running"; exit 3; fi ;;
  url) url ;;
  pid) if running rekor-server; then cat "$run_dir/rekor-server.pid"; else echo "not running" >&2; exit 3; fi ;;
  trusted-root)
    if [[ -f $root_json ]]; then echo "$root_json"; else say "$root_json is not written yet; run $0 start"; exit 3; fi ;;
  *) echo "usage: $0 start|stop|restart|status|url|pid|trusted-root" >&2; exit 2 ;;
esac
