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
# shellcheck source=SCRIPTDIR/lib/say.sh
source "$(dirname "$0")/lib/say.sh"
# shellcheck source=SCRIPTDIR/lib/trillian.sh
source "$(dirname "$0")/lib/trillian.sh"

ctfe_pin=github.com/google/certificate-transparency-go/trillian/ctfe/ct_server@v1.3.3
ctfe_bin=${SLSABOX_CACHE:-$HOME/.cache/slsabox}/tools/ctfe-${ctfe_pin##*@}/ct_server

state=${SLSABOX_CTLOG_STATE:-${SLSABOX_ROOT:-/var/lib/slsabox}/keyless/ctlog}
run=${SLSABOX_CTLOG_RUN:-${SLSABOX_RUN:-/run/slsabox}/keyless/ctlog}
schema=$state/trillian-schema.sql
prefix=slsabox
ct_port=3484 ct_metrics_port=3485

# For lib/trillian.sh. The ports are fixed: they live in keyless.sh's network namespace.
stack_run=$run
stack_front=ct_server
stack_front_match=--log_config=$run/ct.cfg
db_datadir=$state/mysql
db_run=$run/db
db_port= # the unix socket only
db_name=ctlog
db_password=$state/mysql.password
trillian_flags=$run/trillian.flags
trillian_rpc_port=3480 trillian_http_port=3481 signer_rpc_port=3482 signer_http_port=3483

install() {
  trillian_install "$schema"
  if [[ ! -x $ctfe_bin ]]; then
    say "building $ctfe_pin into $(dirname "$ctfe_bin") (minutes the first time, cached afterwards)"
    mkdir -p "$(dirname "$ctfe_bin")"
    (cd / && GOFLAGS='' GOBIN=$(dirname "$ctfe_bin") go install "$ctfe_pin")
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
  if running ct_server; then return 0; fi
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
  port_free "$ct_port" "ct_server HTTP"
  port_free "$ct_metrics_port" "ct_server metrics"
  launch ct_server "$ctfe_bin" --log_config="$run/ct.cfg" --log_rpc_server="127.0.0.1:$trillian_rpc_port" \
    --http_endpoint="127.0.0.1:$ct_port" --metrics_endpoint="127.0.0.1:$ct_metrics_port" \
    --quota_remote=false --quota_intermediate=false
  await ct_server http_ok "http://127.0.0.1:$ct_port/$prefix/ct/v1/get-sth"
}

start() {
  mkdir -p "$state" "$run"
  # 0711: MariaDB, running as its own user, must reach its datadir and socket inside.
  chmod 0711 "$state" "$run"
  db_start "$schema" --innodb-buffer-pool-size=32M --max-connections=100
  trillian_start "$state/tree_id" --display_name=slsabox-ctlog
  ensure_key
  start_ctfe
  say "ready at $(url) (tree $(cat "$state/tree_id"))"
}

url() { echo "http://127.0.0.1:$ct_port/$prefix"; }

case ${1:-} in
  install) install ;;
  start) start ;;
  stop) stack_stop ;;
  url) url ;;
  pub) echo "$state/ct.pub" ;;
  *) echo "usage: $0 install|start|stop|url|pub" >&2; exit 2 ;;
esac
