#!/usr/bin/env bash
# A local RFC 6962 certificate transparency log for the keyless stack's Fulcio, so that
# its certificates carry an embedded SCT as the public-good Fulcio's do (cosign wants
# one): CTFE (certificate-transparency-go's ct_server) on Trillian (log server and
# signer) on a private MariaDB that listens on a unix socket only. scripts/keyless.sh
# runs `install` on the host, then `start` and `stop` inside its network namespace;
# every TCP listener is on 127.0.0.1 there.
#
#   scripts/ctlog.sh install|start|stop|url|pub
#
# Environment:
#   SLSABOX_CTLOG_STATE  key, tree id, database password and MariaDB datadir, kept
#                        (default ${SLSABOX_ROOT:-/var/lib/slsabox}/keyless/ctlog)
#   SLSABOX_CTLOG_RUN    pid files, logs, socket, config (default ${SLSABOX_RUN:-/run/slsabox}/keyless/ctlog)
#   SLSABOX_CTLOG_ROOTS  PEM file of the CA certificates the log accepts (Fulcio's root; required by start)
#   SLSABOX_CACHE        where the pinned servers are built (default ~/.cache/slsabox)
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/daemon.sh
source "$(dirname "$0")/lib/daemon.sh"
# shellcheck source=SCRIPTDIR/lib/apt.sh
source "$(dirname "$0")/lib/apt.sh"

trillian_version=v1.8.0
ctfe_pin=github.com/google/certificate-transparency-go/trillian/ctfe/ct_server@v1.3.3
cache=${SLSABOX_CACHE:-$HOME/.cache/slsabox}/tools
trillian_dir=$cache/trillian-$trillian_version
ctfe_bin=$cache/ctfe-${ctfe_pin##*@}/ct_server

state=${SLSABOX_CTLOG_STATE:-${SLSABOX_ROOT:-/var/lib/slsabox}/keyless/ctlog}
run=${SLSABOX_CTLOG_RUN:-${SLSABOX_RUN:-/run/slsabox}/keyless/ctlog}
datadir=$state/mysql
db_run=$run/db
sock=$db_run/mysqld.sock
flags=$run/trillian.flags
prefix=slsabox
rpc_port=3480 http_port=3481 signer_rpc_port=3482 signer_http_port=3483 ct_port=3484 ct_metrics_port=3485

say() { echo "ctlog.sh: $*" >&2; }
if [[ $(id -u) == 0 ]]; then db_user=mysql; db_admin=root; else db_user=$(id -un); db_admin=$db_user; fi

install() {
  apt_ensure mariadbd:mariadb-server mariadb-install-db:mariadb-server mariadb:mariadb-client mariadb-admin:mariadb-client || exit 2
  if [[ ! -x $trillian_dir/trillian_log_server || ! -x $trillian_dir/trillian_log_signer || ! -x $trillian_dir/createtree ]]; then
    say "building Trillian $trillian_version into $trillian_dir (minutes the first time, cached afterwards)"
    mkdir -p "$trillian_dir"
    (cd / && GOFLAGS='' GOBIN=$trillian_dir go install "github.com/google/trillian/cmd/trillian_log_server@$trillian_version" \
      "github.com/google/trillian/cmd/trillian_log_signer@$trillian_version" "github.com/google/trillian/cmd/createtree@$trillian_version")
  fi
  if [[ ! -x $ctfe_bin ]]; then
    say "building $ctfe_pin into $(dirname "$ctfe_bin") (minutes the first time, cached afterwards)"
    mkdir -p "$(dirname "$ctfe_bin")"
    (cd / && GOFLAGS='' GOBIN=$(dirname "$ctfe_bin") go install "$ctfe_pin")
  fi
  # Trillian's schema, from the module cache (start runs without a network).
  local dir
  dir=$(cd / && GOFLAGS='' go mod download -json "github.com/google/trillian@$trillian_version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
  mkdir -p "$state"
  cp "$dir/storage/mysql/schema/storage.sql" "$state/trillian-schema.sql"
}

pid_alive() { [[ -f $run/$1.pid ]] && kill -0 "$(cat "$run/$1.pid")" 2>/dev/null; }

launch() {
  local name=$1; shift
  if pid_alive "$name"; then return 0; fi
  echo "--- ctlog.sh start $(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$run/$name.log"
  setsid "$@" >>"$run/$name.log" 2>&1 </dev/null 9>&- &
  echo $! >"$run/$name.pid"
}

await() { # NAME CHECK...
  local name=$1; shift
  if daemon_await "$run/$name.pid" 600 "$@"; then return 0; fi
  say "$name did not come up; the end of $run/$name.log:"; tail -20 "$run/$name.log" >&2
  stop; exit 3
}

http_ok() { curl -fsS --max-time 2 -o /dev/null "$1" 2>/dev/null; }
sql() { mariadb --no-defaults --socket="$sock" -u "$db_admin" --batch --skip-column-names "$@"; }
db_alive() { mariadb-admin --no-defaults --socket="$sock" -u "$db_admin" ping >/dev/null 2>&1; }

start_db() {
  mkdir -p "$state" "$run"
  # 0711: MariaDB, running as its own user, must reach its datadir and socket inside.
  chmod 0711 "$state" "$run"
  if [[ ! -d $datadir/mysql ]]; then
    rm -rf "$datadir.new"; mkdir -p "$datadir.new"; chown "$db_user:" "$datadir.new"
    if ! mariadb-install-db --no-defaults --datadir="$datadir.new" --user="$db_user" \
        --auth-root-authentication-method=socket --skip-test-db --skip-name-resolve >>"$run/mariadb.log" 2>&1; then
      say "mariadb-install-db failed; the end of $run/mariadb.log:"; tail -20 "$run/mariadb.log" >&2; exit 3
    fi
    mv "$datadir.new" "$datadir"
  fi
  mkdir -p "$db_run"
  chown "$db_user:" "$datadir" "$db_run"
  chmod 0700 "$datadir" "$db_run"
  local user_arg=()
  if [[ $(id -u) == 0 ]]; then user_arg=(--user="$db_user"); fi
  # --skip-networking: a unix socket and nothing else.
  launch mariadb "$(command -v mariadbd)" --no-defaults --datadir="$datadir" "${user_arg[@]}" --skip-networking \
    --socket="$sock" --pid-file="$db_run/mariadbd.pid" --tmpdir="$db_run" --skip-name-resolve \
    --innodb-buffer-pool-size=32M --max-connections=100 --character-set-server=utf8mb4
  await mariadb db_alive
  [[ -f $state/mysql.password ]] || (umask 077; openssl rand -hex 16 >"$state/mysql.password")
  local pw; pw=$(cat "$state/mysql.password")
  sql <<SQL
CREATE DATABASE IF NOT EXISTS ctlog;
CREATE USER IF NOT EXISTS 'trillian'@'localhost' IDENTIFIED BY '$pw';
ALTER USER 'trillian'@'localhost' IDENTIFIED BY '$pw';
GRANT ALL PRIVILEGES ON ctlog.* TO 'trillian'@'localhost';
SQL
  if [[ $(sql -e "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='ctlog' AND table_name='Unsequenced'") == 0 ]]; then
    sql ctlog <"$state/trillian-schema.sql"
  fi
  # The DSN holds the password: a flag file, not a command line.
  (umask 077; echo "--mysql_uri=trillian:$pw@unix($sock)/ctlog" >"$flags")
}

start_trillian() {
  launch trillian_log_server "$trillian_dir/trillian_log_server" --config="$flags" --storage_system=mysql --quota_system=mysql \
    --rpc_endpoint="127.0.0.1:$rpc_port" --http_endpoint="127.0.0.1:$http_port"
  await trillian_log_server http_ok "http://127.0.0.1:$http_port/healthz"
  launch trillian_log_signer "$trillian_dir/trillian_log_signer" --config="$flags" --storage_system=mysql --quota_system=mysql \
    --force_master --sequencer_interval=100ms --rpc_endpoint="127.0.0.1:$signer_rpc_port" --http_endpoint="127.0.0.1:$signer_http_port"
  await trillian_log_signer http_ok "http://127.0.0.1:$signer_http_port/healthz"
  if [[ ! -f $state/tree_id ]]; then
    local id
    id=$("$trillian_dir/createtree" --admin_server="127.0.0.1:$rpc_port" --display_name=slsabox-ctlog 2>>"$run/createtree.log")
    [[ $id =~ ^[0-9]+$ ]] || { say "createtree failed; see $run/createtree.log"; stop; exit 3; }
    echo "$id" >"$state/tree_id"
  fi
}

# ensure_key makes the log's ECDSA P-256 key once. CTFE reads only password-protected
# keys in the traditional PEM form (DEK-Info), so it is kept that way, the password
# beside it (both 0600).
ensure_key() {
  [[ -f $state/ct.key ]] && return 0
  local plain
  plain=$(mktemp "$state/.ct.plain.XXXXXX")
  (umask 077; openssl rand -hex 16 >"$state/ct.pass")
  if ! openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$plain" 2>/dev/null ||
     ! openssl pkey -in "$plain" -pubout -out "$state/ct.pub" 2>/dev/null ||
     ! (umask 077; openssl ec -in "$plain" -aes256 -passout file:"$state/ct.pass" -out "$state/ct.key.tmp" 2>/dev/null); then
    rm -f "$plain" "$state/ct.key.tmp"; say "openssl could not make the CT log's key"; exit 1
  fi
  rm -f "$plain"
  mv "$state/ct.key.tmp" "$state/ct.key"
}

start_ctfe() {
  local roots=${SLSABOX_CTLOG_ROOTS:?SLSABOX_CTLOG_ROOTS must name the PEM roots the log accepts (Fulcio\'s CA)}
  (umask 077; cat >"$run/ct.cfg") <<EOF
config {
  log_id: $(cat "$state/tree_id")
  prefix: "$prefix"
  roots_pem_file: "$roots"
  private_key: {
    [type.googleapis.com/keyspb.PEMKeyFile] {
      path: "$state/ct.key"
      password: "$(cat "$state/ct.pass")"
    }
  }
  ext_key_usages: "CodeSigning"
}
EOF
  launch ct_server "$ctfe_bin" --log_config="$run/ct.cfg" --log_rpc_server="127.0.0.1:$rpc_port" \
    --http_endpoint="127.0.0.1:$ct_port" --metrics_endpoint="127.0.0.1:$ct_metrics_port" \
    --quota_remote=false --quota_intermediate=false
  await ct_server http_ok "http://127.0.0.1:$ct_port/$prefix/ct/v1/get-sth"
}

start() {
  start_db
  start_trillian
  ensure_key
  start_ctfe
  say "ready at $(url) (tree $(cat "$state/tree_id"))"
}

stop() {
  for s in ct_server trillian_log_signer trillian_log_server mariadb; do
    pid_alive "$s" || { rm -f "$run/$s.pid"; continue; }
    daemon_stop "$run/$s.pid" 200
  done
}

url() { echo "http://127.0.0.1:$ct_port/$prefix"; }

case ${1:-} in
  install) install ;;
  start) start ;;
  stop) stop ;;
  url) url ;;
  pub) echo "$state/ct.pub" ;;
  *) echo "usage: $0 install|start|stop|url|pub" >&2; exit 2 ;;
esac
