# shellcheck shell=bash
# shellcheck disable=SC2154 # the sourcing script sets the variables listed below
# A Trillian log (log server and log signer, pinned) on a private MariaDB from Debian,
# run as one stack of processes with a front end of the caller's: rekor-server in
# scripts/rekor-v1.sh, CTFE in scripts/ctlog.sh. Every TCP listener is on 127.0.0.1.
# Source it; it sources the libraries it uses (say.sh, daemon.sh, apt.sh) and defines
# functions, the pinned version and the database's OS user.
#
# The caller sets, before it calls any of them:
#   stack_run          RUN/NAME.pid and RUN/NAME.log of every process of the stack
#   stack_front        the front end's NAME (rekor-server, ct_server)
#   stack_front_match  an argument only this stack's front end has on its command line
#   db_datadir         MariaDB's datadir, kept across runs
#   db_run             MariaDB's socket, pid file and tmpdir
#   db_port            MariaDB's TCP port on 127.0.0.1; empty: its unix socket only
#   db_name            the database that holds Trillian's tables
#   db_password        file of the password of the database user "trillian" (made once)
#   trillian_flags     the flag file that gives Trillian the database's DSN
#   trillian_rpc_port, trillian_http_port, signer_rpc_port, signer_http_port
#                      gRPC and HTTP (metrics, /healthz) ports of the log server and signer
#   stack_ports_hint   how a user gives the stack other ports, if they can (optional)

# shellcheck source=SCRIPTDIR/say.sh
source "$(dirname "${BASH_SOURCE[0]}")/say.sh"
# shellcheck source=SCRIPTDIR/daemon.sh
source "$(dirname "${BASH_SOURCE[0]}")/daemon.sh"
# shellcheck source=SCRIPTDIR/apt.sh
source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"

trillian_version=v1.8.0
trillian_dir=${SLSABOX_CACHE:-$HOME/.cache/slsabox}/tools/trillian-$trillian_version

# MariaDB refuses to run as root: as root it runs as Debian's mysql user, otherwise
# as the caller. The database's admin account is that OS user, by unix socket.
if [[ $(id -u) == 0 ]]; then db_user=mysql; db_admin=root; else db_user=$(id -un); db_admin=$db_user; fi

# trillian_install SCHEMA: MariaDB from Debian (and openssl and curl, which the stack
# uses), the pinned Trillian servers built into trillian_dir (cached), and Trillian's
# MySQL schema copied once to SCHEMA from the module cache, so that a start needs no
# network (ctlog.sh starts in a network namespace).
trillian_install() {
  apt_ensure mariadbd:mariadb-server mariadb-install-db:mariadb-server mariadb:mariadb-client mariadb-admin:mariadb-client openssl curl || exit 2
  if [[ ! -x $trillian_dir/trillian_log_server || ! -x $trillian_dir/trillian_log_signer || ! -x $trillian_dir/createtree ]]; then
    say "building Trillian $trillian_version into $trillian_dir (minutes the first time, cached afterwards)"
    mkdir -p "$trillian_dir"
    (cd / && GOFLAGS='' GOBIN=$trillian_dir go install "github.com/google/trillian/cmd/trillian_log_server@$trillian_version" \
      "github.com/google/trillian/cmd/trillian_log_signer@$trillian_version" "github.com/google/trillian/cmd/createtree@$trillian_version")
  fi
  [[ -f $1 ]] && return 0
  local dir
  dir=$(cd / && GOFLAGS='' go mod download -json "github.com/google/trillian@$trillian_version" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p') || dir=
  if [[ -z $dir || ! -f $dir/storage/mysql/schema/storage.sql ]]; then
    say "could not find storage/mysql/schema/storage.sql of trillian@$trillian_version in the module cache"; exit 1
  fi
  mkdir -p "$(dirname "$1")"
  cp "$dir/storage/mysql/schema/storage.sql" "$1.tmp" && mv "$1.tmp" "$1"
}

# --- processes ---------------------------------------------------------------

# running NAME: the stack's process NAME runs, checked by an argument only it has, so
# that a pid reused by another process is never taken for ours.
running() {
  local arg
  case $1 in
    mariadb) arg=--datadir=$db_datadir ;;
    trillian_log_server | trillian_log_signer) arg=--config=$trillian_flags ;;
    "$stack_front") arg=$stack_front_match ;;
    *) return 1 ;;
  esac
  daemon_alive "$stack_run/$1.pid" "$arg"
}

# launch NAME CMD... starts CMD as the daemon NAME (daemon_launch).
launch() {
  local name=$1; shift
  daemon_launch "$stack_run/$name.pid" "$stack_run/$name.log" "$@"
}

# await NAME CHECK... waits up to 60 s for CHECK to succeed while NAME runs; when it
# does not, it shows the end of NAME's log, stops the stack and exits 3.
await() {
  local name=$1; shift
  if daemon_await "$stack_run/$name.pid" 600 "$@"; then return 0; fi
  daemon_failed "$name" "$stack_run/$name.log"
  stack_stop
  exit 3
}

http_ok() { curl -fsS --max-time 2 -o /dev/null "$1" 2>/dev/null; }

# port_free PORT WHAT refuses a port that something else listens on already: it stops
# the stack and exits 3.
port_free() {
  if ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; then
    say "something already listens on port $1 (for $2); stop it${stack_ports_hint:+ or $stack_ports_hint}"
    ss -Hltnp "sport = :$1" >&2 || true
    stack_stop
    exit 3
  fi
}

# stop_procs NAME... stops those of the named processes that run, together: SIGTERM,
# up to 30 s to exit (the Trillian servers take 5 to 15 s to drain), then SIGKILL.
stop_procs() {
  local name pidfiles=()
  for name in "$@"; do
    if running "$name"; then pidfiles+=("$stack_run/$name.pid"); else rm -f "$stack_run/$name.pid"; fi
  done
  daemon_stop 300 "${pidfiles[@]}"
}

# stack_stop stops the stack from the front: the front end (no new requests), the two
# Trillian servers, then MariaDB; it says which of them ran.
stack_stop() {
  local name stopped=()
  for name in "$stack_front" trillian_log_signer trillian_log_server mariadb; do
    if running "$name"; then stopped+=("$name"); fi
  done
  stop_procs "$stack_front"
  stop_procs trillian_log_signer trillian_log_server
  stop_procs mariadb
  if ((${#stopped[@]})); then say "stopped ${stopped[*]}"; fi
}

# --- MariaDB -----------------------------------------------------------------

sql() { mariadb --no-defaults --socket="$db_run/mysqld.sock" -u "$db_admin" --batch --skip-column-names "$@"; }
db_alive() { mariadb-admin --no-defaults --socket="$db_run/mysqld.sock" -u "$db_admin" ping >/dev/null 2>&1; }

# db_start SCHEMA MARIADBD-ARG...: MariaDB's datadir made once, the server started
# unless it runs (MARIADBD-ARGs size it), then db_setup.
db_start() {
  local schema=$1; shift
  mkdir -p "$db_run"
  if [[ ! -d $db_datadir/mysql ]]; then
    say "initialising MariaDB's datadir $db_datadir"
    rm -rf "$db_datadir.new"
    mkdir -p "$db_datadir.new"
    chown "$db_user:" "$db_datadir.new"
    if ! mariadb-install-db --no-defaults --datadir="$db_datadir.new" --user="$db_user" \
        --auth-root-authentication-method=socket --skip-test-db --skip-name-resolve \
        >>"$stack_run/mariadb.log" 2>&1; then
      say "mariadb-install-db failed; the end of $stack_run/mariadb.log:"; tail -20 "$stack_run/mariadb.log" >&2; exit 3
    fi
    mv "$db_datadir.new" "$db_datadir"
  fi
  chown "$db_user:" "$db_datadir" "$db_run"
  chmod 0700 "$db_datadir" "$db_run"
  if ! running mariadb; then
    local net=(--skip-networking) user_arg=() # --skip-networking: a unix socket and nothing else
    if [[ -n $db_port ]]; then
      port_free "$db_port" MariaDB
      net=(--port="$db_port" --bind-address=127.0.0.1)
    fi
    if [[ $(id -u) == 0 ]]; then user_arg=(--user="$db_user"); fi
    # --no-defaults: none of /etc/mysql applies.
    launch mariadb "$(command -v mariadbd)" --no-defaults --datadir="$db_datadir" "${user_arg[@]}" \
      --socket="$db_run/mysqld.sock" --pid-file="$db_run/mariadbd.pid" --tmpdir="$db_run" \
      "${net[@]}" --skip-name-resolve "$@" --character-set-server=utf8mb4
    await mariadb db_alive
  fi
  db_setup "$schema"
}

# db_setup SCHEMA creates the database, its user and Trillian's tables from SCHEMA
# (idempotent), and writes trillian_flags.
db_setup() {
  if [[ ! -f $db_password ]]; then
    (umask 077; openssl rand -hex 16 >"$db_password")
  fi
  local pw host=localhost dsn="unix($db_run/mysqld.sock)"
  pw=$(cat "$db_password")
  if [[ -n $db_port ]]; then host=127.0.0.1 dsn="tcp(127.0.0.1:$db_port)"; fi
  sql <<SQL
CREATE DATABASE IF NOT EXISTS $db_name;
CREATE USER IF NOT EXISTS 'trillian'@'$host' IDENTIFIED BY '$pw';
ALTER USER 'trillian'@'$host' IDENTIFIED BY '$pw';
GRANT ALL PRIVILEGES ON $db_name.* TO 'trillian'@'$host';
SQL
  if [[ $(sql -e "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='$db_name' AND table_name='Unsequenced'") == 0 ]]; then
    say "loading Trillian's schema ($1)"
    sql "$db_name" <"$1"
  fi
  # The DSN holds the password: it goes to Trillian in a flag file, not on a command line.
  (umask 077; echo "--mysql_uri=trillian:$pw@$dsn/$db_name" >"$trillian_flags")
}

# --- Trillian ----------------------------------------------------------------

# trillian_start TREEFILE CREATETREE-ARG...: the log server and the log signer, each
# unless it runs, and the log's tree (trillian_tree).
trillian_start() {
  if ! running trillian_log_server; then
    port_free "$trillian_rpc_port" "trillian_log_server gRPC"
    port_free "$trillian_http_port" "trillian_log_server HTTP"
    launch trillian_log_server "$trillian_dir/trillian_log_server" --config="$trillian_flags" \
      --storage_system=mysql --quota_system=mysql \
      --rpc_endpoint="127.0.0.1:$trillian_rpc_port" --http_endpoint="127.0.0.1:$trillian_http_port"
    await trillian_log_server http_ok "http://127.0.0.1:$trillian_http_port/healthz"
  fi
  if ! running trillian_log_signer; then
    port_free "$signer_rpc_port" "trillian_log_signer gRPC"
    port_free "$signer_http_port" "trillian_log_signer HTTP"
    # --force_master: one signer, no etcd election.
    launch trillian_log_signer "$trillian_dir/trillian_log_signer" --config="$trillian_flags" \
      --storage_system=mysql --quota_system=mysql --force_master --sequencer_interval=100ms \
      --rpc_endpoint="127.0.0.1:$signer_rpc_port" --http_endpoint="127.0.0.1:$signer_http_port"
    await trillian_log_signer http_ok "http://127.0.0.1:$signer_http_port/healthz"
  fi
  trillian_tree "$@"
}

# trillian_tree TREEFILE CREATETREE-ARG... creates the log's tree once (createtree
# with CREATETREE-ARGs: its name) and keeps its id in TREEFILE: a front end would
# otherwise make a new, empty tree, or serve another log's. A kept id must name a
# tree of this database.
trillian_tree() {
  local tree_file=$1 id
  shift
  if [[ -f $tree_file ]]; then
    id=$(cat "$tree_file")
    if [[ $(sql "$db_name" -e "SELECT COUNT(*) FROM Trees WHERE TreeId=$id AND Deleted IS NOT TRUE") != 1 ]]; then
      say "the database in $db_datadir has no tree $id ($tree_file): it is not this log's database;"
      say "restore it, or move $(dirname "$tree_file") away to start a new log"
      stack_stop
      exit 2
    fi
    return 0
  fi
  if ! id=$("$trillian_dir/createtree" --admin_server="127.0.0.1:$trillian_rpc_port" "$@" 2>>"$stack_run/createtree.log") ||
     [[ ! $id =~ ^[0-9]+$ ]]; then
    say "createtree failed; see $stack_run/createtree.log"; stack_stop; exit 3
  fi
  echo "$id" >"$tree_file.tmp" && mv "$tree_file.tmp" "$tree_file"
  say "created Trillian tree $id"
}
