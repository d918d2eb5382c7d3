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
# shellcheck source=SCRIPTDIR/lib/daemon.sh
source "$(dirname "$0")/lib/daemon.sh"
# shellcheck source=SCRIPTDIR/lib/apt.sh
source "$(dirname "$0")/lib/apt.sh"

repo=$(cd "$(dirname "$0")/.." && pwd)
trillian_version=v1.8.0
rekor_version=v1.5.4
cache=${SLSABOX_CACHE:-$HOME/.cache/slsabox}
trillian_dir=$cache/tools/trillian-$trillian_version
rekor_dir=$cache/tools/rekor-$rekor_version
log_server_bin=$trillian_dir/trillian_log_server
log_signer_bin=$trillian_dir/trillian_log_signer
createtree_bin=$trillian_dir/createtree
rekor_bin=$rekor_dir/rekor-server

state_dir=${SLSABOX_REKOR_V1_STATE:-${SLSABOX_ROOT:-/var/lib/slsabox}/rekor-v1}
run_dir=${SLSABOX_REKOR_V1_RUN:-${SLSABOX_RUN:-/run/slsabox}/rekor-v1}
key=$state_dir/log.key
pub=$state_dir/log.pub
created=$state_dir/created
tree_file=$state_dir/tree_id
password_file=$state_dir/mysql.password
datadir=$state_dir/mysql
db_run=$run_dir/mysql
sock=$db_run/mysqld.sock
trillian_flags=$run_dir/trillian.flags
rekor_config=$run_dir/rekor-server.yaml
root_json=$run_dir/trusted_root.json

rekor_port=${SLSABOX_REKOR_V1_PORT:-3430}
mysql_port=${SLSABOX_REKOR_V1_MYSQL_PORT:-3406}
trillian_rpc_port=${SLSABOX_REKOR_V1_TRILLIAN_RPC_PORT:-3431}
trillian_http_port=${SLSABOX_REKOR_V1_TRILLIAN_HTTP_PORT:-3432}
signer_rpc_port=${SLSABOX_REKOR_V1_SIGNER_RPC_PORT:-3433}
signer_http_port=${SLSABOX_REKOR_V1_SIGNER_HTTP_PORT:-2112}

# The processes of the stack, in start order; each has RUN/NAME.pid and RUN/NAME.log.
procs=(mariadb trillian_log_server trillian_log_signer rekor-server)

say() { echo "rekor-v1.sh: $*" >&2; }
url() { echo "http://127.0.0.1:$rekor_port"; }

# MariaDB refuses to run as root: as root it runs as Debian's mysql user, otherwise
# as the caller. The database's admin account is that OS user, by unix socket.
if [[ $(id -u) == 0 ]]; then db_user=mysql; db_admin=root; else db_user=$(id -un); db_admin=$db_user; fi

# go_build PKG... DIR builds the pinned commands into DIR (cached).
go_build() {
  local dir=${*: -1} pkgs=("${@:1:$#-1}")
  say "building ${pkgs[*]} into $dir (minutes the first time, cached afterwards)"
  mkdir -p "$dir"
  (cd / && GOFLAGS='' GOBIN=$dir go install "${pkgs[@]}")
}

ensure_installed() {
  apt_ensure mariadbd:mariadb-server mariadb-install-db:mariadb-server mariadb:mariadb-client mariadb-admin:mariadb-client openssl curl || exit 2
  if [[ ! -x $log_server_bin || ! -x $log_signer_bin || ! -x $createtree_bin ]]; then
    go_build "github.com/google/trillian/cmd/trillian_log_server@$trillian_version" \
      "github.com/google/trillian/cmd/trillian_log_signer@$trillian_version" \
      "github.com/google/trillian/cmd/createtree@$trillian_version" "$trillian_dir"
  fi
  if [[ ! -x $rekor_bin ]]; then
    go_build "github.com/sigstore/rekor/cmd/rekor-server@$rekor_version" "$rekor_dir"
  fi
}

# trillian_schema prints the path of Trillian's MySQL schema, from the module cache.
trillian_schema() {
  local tmp dir
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/trillian-schema-XXXXXX")
  dir=$(cd "$tmp" && GOFLAGS='' go mod init slsabox.test/schema >/dev/null 2>&1 &&
    GOFLAGS='' go mod download -json "github.com/google/trillian@$trillian_version" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
  rm -rf "$tmp"
  if [[ -z $dir || ! -f $dir/storage/mysql/schema/storage.sql ]]; then
    say "could not find storage/mysql/schema/storage.sql of trillian@$trillian_version"; exit 1
  fi
  echo "$dir/storage/mysql/schema/storage.sql"
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

# --- processes ---------------------------------------------------------------

# match NAME prints an argument that only this stack's NAME has on its command line,
# so that a pid reused by another process is never taken for ours.
match() {
  case $1 in
    mariadb) echo "--datadir=$datadir" ;;
    trillian_log_server | trillian_log_signer) echo "--config=$trillian_flags" ;;
    rekor-server) echo "--config=$rekor_config" ;;
  esac
}

running() {
  local pidfile=$run_dir/$1.pid pid
  [[ -f $pidfile ]] || return 1
  pid=$(cat "$pidfile")
  kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$(match "$1") "
}

# launch NAME CMD... starts CMD in the background as NAME. setsid: it outlives the
# shell that started it and is not hit by its Ctrl-C; 9>&-: it must not hold the lock.
launch() {
  local name=$1; shift
  echo "--- rekor-v1.sh start $(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$run_dir/$name.log"
  setsid "$@" >>"$run_dir/$name.log" 2>&1 </dev/null 9>&- &
  echo $! >"$run_dir/$name.pid"
}

# await NAME CHECK... waits up to 60 s for CHECK to succeed while NAME runs.
await() {
  local name=$1; shift
  for _ in $(seq 1 600); do
    if "$@" && running "$name"; then return 0; fi
    running "$name" || break
    sleep 0.1
  done
  say "$name did not come up; the end of $run_dir/$name.log:"
  tail -20 "$run_dir/$name.log" >&2
  stop_all
  exit 3
}

# stop_procs NAME... stops the named processes together: SIGTERM, up to 30 s to exit
# (the Trillian servers take 5 to 15 s to drain), then SIGKILL.
stop_procs() {
  local name pid pids=()
  for name in "$@"; do
    if running "$name"; then
      pid=$(cat "$run_dir/$name.pid")
      kill -CONT "$pid" 2>/dev/null || true # a stopped process cannot handle SIGTERM
      kill "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  for _ in $(seq 1 300); do
    local alive=0
    for pid in "${pids[@]}"; do if kill -0 "$pid" 2>/dev/null; then alive=1; fi; done
    ((alive)) || break
    sleep 0.1
  done
  for name in "$@"; do
    if running "$name"; then kill -9 "$(cat "$run_dir/$name.pid")"; fi
    rm -f "$run_dir/$name.pid"
  done
}

# stop_all stops the stack from the front: rekor-server (no new requests), the two
# Trillian servers, then MariaDB.
stop_all() {
  local i stopped=()
  for ((i = ${#procs[@]} - 1; i >= 0; i--)); do
    if running "${procs[i]}"; then stopped+=("${procs[i]}"); fi
  done
  stop_procs rekor-server
  stop_procs trillian_log_signer trillian_log_server
  stop_procs mariadb
  if ((${#stopped[@]})); then say "stopped ${stopped[*]}"; fi
}

http_ok() { curl -fsS --max-time 2 -o /dev/null "$1" 2>/dev/null; }

# port_free PORT NAME refuses a port that something else listens on already.
port_free() {
  if ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; then
    say "something already listens on port $1 (for $2); stop it or change its SLSABOX_REKOR_V1_*_PORT"
    ss -Hltnp "sport = :$1" >&2 || true
    stop_all
    exit 3
  fi
}

# --- MariaDB -----------------------------------------------------------------

sql() { mariadb --no-defaults --socket="$sock" -u "$db_admin" --batch --skip-column-names "$@"; }
db_alive() { mariadb-admin --no-defaults --socket="$sock" -u "$db_admin" ping >/dev/null 2>&1; }

start_mariadb() {
  mkdir -p "$db_run"
  if [[ ! -d $datadir/mysql ]]; then
    say "initialising MariaDB's datadir $datadir"
    rm -rf "$datadir.new"
    mkdir -p "$datadir.new"
    chown "$db_user:" "$datadir.new"
    if ! mariadb-install-db --no-defaults --datadir="$datadir.new" --user="$db_user" \
        --auth-root-authentication-method=socket --skip-test-db --skip-name-resolve \
        >>"$run_dir/mariadb.log" 2>&1; then
      say "mariadb-install-db failed; the end of $run_dir/mariadb.log:"; tail -20 "$run_dir/mariadb.log" >&2; exit 3
    fi
    mv "$datadir.new" "$datadir"
  fi
  chown "$db_user:" "$datadir" "$db_run"
  chmod 0700 "$datadir" "$db_run"
  if running mariadb; then return 0; fi
  port_free "$mysql_port" MariaDB
  local user_arg=()
  if [[ $(id -u) == 0 ]]; then user_arg=(--user="$db_user"); fi
  # --no-defaults: none of /etc/mysql applies; TCP on 127.0.0.1 only, plus the socket.
  launch mariadb "$(command -v mariadbd)" --no-defaults --datadir="$datadir" "${user_arg[@]}" \
    --socket="$sock" --pid-file="$db_run/mariadbd.pid" --tmpdir="$db_run" \
    --port="$mysql_port" --bind-address=127.0.0.1 --skip-name-resolve \
    --innodb-buffer-pool-size=64M --max-connections=300 --character-set-server=utf8mb4
  await mariadb db_alive
}

# setup_db creates the trillian database, its user and Trillian's tables (idempotent).
setup_db() {
  if [[ ! -f $password_file ]]; then
    (umask 077; openssl rand -hex 16 >"$password_file")
  fi
  local pw; pw=$(cat "$password_file")
  sql <<SQL
CREATE DATABASE IF NOT EXISTS trillian;
CREATE USER IF NOT EXISTS 'trillian'@'127.0.0.1' IDENTIFIED BY '$pw';
ALTER USER 'trillian'@'127.0.0.1' IDENTIFIED BY '$pw';
GRANT ALL PRIVILEGES ON trillian.* TO 'trillian'@'127.0.0.1';
SQL
  if [[ $(sql -e "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='trillian' AND table_name='Unsequenced'") == 0 ]]; then
    local schema; schema=$(trillian_schema)
    say "loading Trillian's schema ($schema)"
    sql trillian <"$schema"
  fi
  # The DSN holds the password: it goes to Trillian in a flag file, not on a command line.
  (umask 077; echo "--mysql_uri=trillian:$pw@tcp(127.0.0.1:$mysql_port)/trillian" >"$trillian_flags")
}

# --- Trillian ----------------------------------------------------------------

start_log_server() {
  if running trillian_log_server; then return 0; fi
  port_free "$trillian_rpc_port" "trillian_log_server gRPC"
  port_free "$trillian_http_port" "trillian_log_server HTTP"
  launch trillian_log_server "$log_server_bin" --config="$trillian_flags" \
    --storage_system=mysql --quota_system=mysql \
    --rpc_endpoint="127.0.0.1:$trillian_rpc_port" --http_endpoint="127.0.0.1:$trillian_http_port"
  await trillian_log_server http_ok "http://127.0.0.1:$trillian_http_port/healthz"
}

start_log_signer() {
  if running trillian_log_signer; then return 0; fi
  port_free "$signer_rpc_port" "trillian_log_signer gRPC"
  port_free "$signer_http_port" "trillian_log_signer HTTP"
  # --force_master: one signer, no etcd election.
  launch trillian_log_signer "$log_signer_bin" --config="$trillian_flags" \
    --storage_system=mysql --quota_system=mysql --force_master --sequencer_interval=100ms \
    --rpc_endpoint="127.0.0.1:$signer_rpc_port" --http_endpoint="127.0.0.1:$signer_http_port"
  await trillian_log_signer http_ok "http://127.0.0.1:$signer_http_port/healthz"
}

# ensure_tree creates the log's Trillian tree once and keeps its id: rekor-server
# would make a new, empty tree at every start if it were not told which one to use.
ensure_tree() {
  if [[ -f $tree_file ]]; then
    local id; id=$(cat "$tree_file")
    if [[ $(sql trillian -e "SELECT COUNT(*) FROM Trees WHERE TreeId=$id AND Deleted IS NOT TRUE") != 1 ]]; then
      say "the database in $datadir has no tree $id ($tree_file): it is not this log's database;"
      say "restore it, or move $state_dir away to start a new log"
      stop_all
      exit 2
    fi
    return 0
  fi
  local id
  if ! id=$("$createtree_bin" --admin_server="127.0.0.1:$trillian_rpc_port" \
      --display_name=slsabox --description="slsabox local Rekor v1 log" 2>>"$run_dir/trillian_log_server.log"); then
    say "createtree failed; see $run_dir/trillian_log_server.log"; stop_all; exit 3
  fi
  echo "$id" >"$tree_file.tmp" && mv "$tree_file.tmp" "$tree_file"
  say "created Trillian tree $id"
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
  await rekor-server http_ok "http://127.0.0.1:$rekor_port/api/v1/log"
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
    stop_all
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
  start_mariadb
  setup_db
  start_log_server
  ensure_tree
  start_log_signer
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
  stop) with_lock "$run_dir" stop_all ;;
  restart) with_lock "$run_dir" stop_all; start ;;
  status)
    if healthy; then echo "running at $(url) (rekor-server pid $(cat "$run_dir/rekor-server.pid"))"
    else echo "not running"; exit 3; fi ;;
  url) url ;;
  pid) if running rekor-server; then cat "$run_dir/rekor-server.pid"; else echo "not running" >&2; exit 3; fi ;;
  trusted-root)
    if [[ -f $root_json ]]; then echo "$root_json"; else say "$root_json is not written yet; run $0 start"; exit 3; fi ;;
  *) echo "usage: $0 start|stop|restart|status|url|pid|trusted-root" >&2; exit 2 ;;
esac
