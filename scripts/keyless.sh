#!/usr/bin/env bash
# The local keyless signing stack for slsabox's tests and demo, all real servers,
# inside a network namespace of its own so that nothing listens beyond its loopback
# (Fulcio and the TSA open metrics listeners on all interfaces):
#
#   oidcissuer          a test OIDC issuer (internal/cmd/oidcissuer) with GitHub's
#                       token-request endpoint and GitHub Actions-shaped claims
#   Fulcio v1.8.8       --ca=fileca (a CA made once, internal/cmd/keylesspki), no CT log,
#                       the issuer trusted as a ci-provider of type github-workflow
#   timestamp-authority v2.1.3, file signer (leaf with a critical timeStamping EKU)
#   Rekor v2            rekor-tiles v2.3.0 through scripts/rekor.sh, inside the namespace
#   a CT log            CTFE v1.3.3 on Trillian v1.8.0 and MariaDB (scripts/ctlog.sh), so that
#                       Fulcio embeds SCTs as the public-good Fulcio does (SLSABOX_KEYLESS_CT=0:
#                       none, and Fulcio runs with --ct-log-url=)
#
#   scripts/keyless.sh start|stop|status|env|trusted-root|exec CMD...
#
# `env` prints the variables a client needs (export them, then run the client with
# `scripts/keyless.sh exec CMD`, or `ip netns exec NETNS CMD`: the containerd unix
# socket works across namespaces). The trusted_root.json holds the Fulcio CA, the
# TSA chain and the Rekor key.
#
# Environment:
#   SLSABOX_KEYLESS_NETNS  network namespace (default keyless-$(basename $SLSABOX_RUN))
#   SLSABOX_KEYLESS_STATE  CAs, secrets and log storage, kept (default $SLSABOX_ROOT/keyless)
#   SLSABOX_KEYLESS_RUN    pid files, logs, config, trusted root (default $SLSABOX_RUN/keyless)
#   SLSABOX_CACHE          where the pinned servers are built (default ~/.cache/slsabox)
# Ports are fixed: they live in the namespace's own loopback.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/say.sh
source "$(dirname "$0")/lib/say.sh"
# shellcheck source=SCRIPTDIR/lib/daemon.sh
source "$(dirname "$0")/lib/daemon.sh"
# shellcheck source=SCRIPTDIR/lib/apt.sh
source "$(dirname "$0")/lib/apt.sh"

repo=$(cd "$(dirname "$0")/.." && pwd)
fulcio_pin=github.com/sigstore/fulcio@v1.8.8
tsa_pin=github.com/sigstore/timestamp-authority/v2/cmd/timestamp-server@v2.1.3
cache=${SLSABOX_CACHE:-$HOME/.cache/slsabox}/tools
fulcio_bin=$cache/fulcio-${fulcio_pin##*@}/fulcio
tsa_bin=$cache/timestamp-authority-${tsa_pin##*@}/timestamp-server

run_base=${SLSABOX_RUN:-/run/slsabox}
ns=${SLSABOX_KEYLESS_NETNS:-keyless-$(basename "$run_base")}
state=${SLSABOX_KEYLESS_STATE:-${SLSABOX_ROOT:-/var/lib/slsabox}/keyless}
run=${SLSABOX_KEYLESS_RUN:-$run_base/keyless}

issuer_port=3470 fulcio_port=3471 fulcio_grpc=3472 fulcio_metrics=3473 tsa_port=3474
rekor_port=3475 rekor_grpc=3476 rekor_metrics=3477
issuer_url=http://127.0.0.1:$issuer_port
fulcio_url=http://127.0.0.1:$fulcio_port
tsa_url=http://127.0.0.1:$tsa_port/api/v1/timestamp
rekor_url=http://127.0.0.1:$rekor_port
root_json=$run/trusted_root.json
with_ct=${SLSABOX_KEYLESS_CT:-1}
ct_url=http://127.0.0.1:3484/slsabox

ctlog() { env SLSABOX_CTLOG_STATE="$state/ctlog" SLSABOX_CTLOG_RUN="$run/ctlog" SLSABOX_CTLOG_ROOTS="$state/pki/fulcio-ca.pem" "$repo/scripts/ctlog.sh" "$@"; }
in_ns() { ip netns exec "$ns" "$@"; }
has_ns() { ip netns list | awk '{print $1}' | grep -qxF -- "$ns"; }
rekor() {
  in_ns env SLSABOX_REKOR_STATE="$state/rekor" SLSABOX_REKOR_RUN="$run/rekor" SLSABOX_REKOR_PORT=$rekor_port \
    SLSABOX_REKOR_GRPC_PORT=$rekor_grpc SLSABOX_REKOR_METRICS_PORT=$rekor_metrics SLSABOX_REKOR_ORIGIN= \
    "$repo/scripts/rekor.sh" "$@"
}

install_pinned() { # bin pin
  [[ -x $1 ]] && return 0
  say "building $2 into $(dirname "$1") (minutes the first time, cached afterwards)"
  mkdir -p "$(dirname "$1")"
  (cd / && GOFLAGS='' GOBIN=$(dirname "$1") go install "$2")
}

ensure_netns() {
  apt_ensure ip:iproute2 || exit 2
  if ! has_ns; then
    ip netns add "$ns"
  fi
  in_ns ip link set lo up
}

ensure_state() {
  mkdir -p "$state" "$run"
  chmod 0711 "$state" # MariaDB (its own user) must reach the CT log's datadir inside; the secrets are 0600
  (cd "$repo" && go run ./internal/cmd/keylesspki -dir "$state/pki")
  [[ -f $state/request-token ]] || head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$state/request-token"
  (cd "$repo" && go build -o "$run/oidcissuer" ./internal/cmd/oidcissuer)
  cat >"$run/fulcio.json" <<EOF
{
  "OIDCIssuers": {
    "$issuer_url": {"IssuerURL": "$issuer_url", "ClientID": "sigstore", "Type": "ci-provider", "CIProvider": "github-workflow"}
  },
  "CIIssuerMetadata": {
    "github-workflow": {
      "DefaultTemplateValues": {"url": "https://github.com", "environment": ""},
      "ExtensionTemplates": {
        "GithubWorkflowTrigger": "event_name", "GithubWorkflowSHA": "sha", "GithubWorkflowName": "workflow",
        "GithubWorkflowRepository": "repository", "GithubWorkflowRef": "ref",
        "BuildSignerURI": "{{ .url }}/{{ .job_workflow_ref }}", "BuildSignerDigest": "job_workflow_sha",
        "RunnerEnvironment": "runner_environment",
        "SourceRepositoryURI": "{{ .url }}/{{ .repository }}", "SourceRepositoryDigest": "sha",
        "SourceRepositoryRef": "ref", "SourceRepositoryIdentifier": "repository_id",
        "SourceRepositoryOwnerURI": "{{ .url }}/{{ .repository_owner }}",
        "SourceRepositoryOwnerIdentifier": "repository_owner_id",
        "BuildConfigURI": "{{ .url }}/{{ .workflow_ref }}", "BuildConfigDigest": "workflow_sha",
        "BuildTrigger": "event_name",
        "RunInvocationURI": "{{ .url }}/{{ .repository }}/actions/runs/{{ .run_id }}/attempts/{{ .run_attempt }}",
        "SourceRepositoryVisibilityAtSigning": "repository_visibility",
        "DeploymentEnvironment": "environment"
      },
      "SubjectAlternativeNameTemplate": "{{ .url }}/{{ .job_workflow_ref }}"
    }
  }
}
EOF
}

pid_alive() { daemon_alive "$run/$1.pid"; }

# spawn NAME CMD...: a server in the namespace, in its own session, logging to run/NAME.log.
spawn() {
  local name=$1; shift
  if pid_alive "$name"; then return 0; fi
  daemon_launch "$run/$name.pid" "$run/$name.log" ip netns exec "$ns" "$@"
}

http_up() { in_ns curl -fsS --max-time 2 -o /dev/null "$1" 2>/dev/null; }

wait_http() { # name url
  if daemon_await "$run/$1.pid" 300 http_up "$2"; then return 0; fi
  daemon_failed "$1 at $2" "$run/$1.log"
  return 1
}

start() {
  install_pinned "$fulcio_bin" "$fulcio_pin"
  install_pinned "$tsa_bin" "$tsa_pin"
  if [[ $with_ct == 1 ]]; then ctlog install; fi
  ensure_netns
  ensure_state
  local pki=$state/pki
  spawn oidcissuer "$run/oidcissuer" -addr "127.0.0.1:$issuer_port" -request-token "$(cat "$state/request-token")"
  wait_http oidcissuer "$issuer_url/.well-known/openid-configuration" || { stop; exit 3; }
  # Fulcio reads the issuer's discovery document when it starts: the issuer comes first.
  # A stopped Fulcio leaves its legacy gRPC socket behind, and will not bind over it.
  pid_alive fulcio || rm -f "$run/fulcio-legacy.sock"
  local ct_flags=(--ct-log-url=)
  if [[ $with_ct == 1 ]]; then
    in_ns env SLSABOX_CTLOG_STATE="$state/ctlog" SLSABOX_CTLOG_RUN="$run/ctlog" SLSABOX_CTLOG_ROOTS="$pki/fulcio-ca.pem" \
      "$repo/scripts/ctlog.sh" start || { stop; exit 3; }
    ct_flags=(--ct-log-url="$ct_url" --ct-log-public-key-path="$state/ctlog/ct.pub")
  fi
  spawn fulcio "$fulcio_bin" serve --ca=fileca --fileca-cert="$pki/fulcio-ca.pem" --fileca-key="$pki/fulcio-ca.key" \
    --fileca-key-passwd="$(cat "$pki/fulcio-ca.pass")" --fileca-watch=false "${ct_flags[@]}" \
    --config-path="$run/fulcio.json" --host=127.0.0.1 --port=$fulcio_port --grpc-host=127.0.0.1 \
    --grpc-port=$fulcio_grpc --metrics-port=$fulcio_metrics --legacy-unix-domain-socket="$run/fulcio-legacy.sock" \
    --log_type=prod
  spawn tsa "$tsa_bin" serve --host=127.0.0.1 --port=$tsa_port --timestamp-signer=file \
    --file-signer-key-path="$pki/tsa.key" --certificate-chain-path="$pki/tsa-chain.pem" \
    --disable-ntp-monitoring --log-type=prod
  rekor start
  wait_http fulcio "$fulcio_url/api/v1/rootCert" || { stop; exit 3; }
  wait_http tsa "http://127.0.0.1:$tsa_port/ping" || { stop; exit 3; }
  write_trusted_root
  say "ready in network namespace $ns: Fulcio $fulcio_url, TSA $tsa_url, Rekor $rekor_url, issuer $issuer_url"
  say "trusted root: $root_json; eval \"\$($0 env)\" sets the client variables"
}

write_trusted_root() {
  local pki=$state/pki tmp ct_args=()
  if [[ $with_ct == 1 ]]; then ct_args=(-ct-url "$ct_url" -ct-key "$state/ctlog/ct.pub"); fi
  tmp=$(mktemp "$run/.trusted_root.XXXXXX")
  if ! (cd "$repo" && go run ./internal/cmd/trustedroot -log-url "$rekor_url" -origin 127.0.0.1 \
      -log-key "$state/rekor/log.pub" -start "$(cat "$pki/created")" \
      -fulcio-url "$fulcio_url" -fulcio-ca "$pki/fulcio-ca.pem" \
      -tsa-url "$tsa_url" -tsa-chain "$pki/tsa-chain.pem" "${ct_args[@]}" -out "$tmp"); then
    rm -f "$tmp"; say "could not write $root_json"; exit 1
  fi
  chmod 0644 "$tmp"
  mv "$tmp" "$root_json"
}

stop() {
  if has_ns; then rekor stop || true; fi
  for s in tsa fulcio oidcissuer; do daemon_stop 100 "$run/$s.pid"; done
  ctlog stop
  if has_ns; then ip netns del "$ns"; fi
  say "stopped"
}

status() {
  local ok=0
  for s in oidcissuer fulcio tsa; do
    if pid_alive "$s"; then echo "$s: running (pid $(cat "$run/$s.pid"))"; else echo "$s: not running"; ok=3; fi
  done
  if has_ns; then echo "rekor: $(rekor status || true)"; else echo "rekor: not running"; ok=3; fi
  if [[ $with_ct == 1 ]]; then
    if pid_alive ctlog/ct_server; then echo "ct log: running at $ct_url"; else echo "ct log: not running"; ok=3; fi
  fi
  return $ok
}

env_vars() {
  cat <<EOF
export SLSABOX_KEYLESS_NETNS=$ns
export SLSABOX_FULCIO_URL=$fulcio_url
export SLSABOX_TSA_URL=$tsa_url
export SLSABOX_KEYLESS_REKOR_URL=$rekor_url
export SLSABOX_KEYLESS_TRUSTED_ROOT=$root_json
export SLSABOX_OIDC_ISSUER=$issuer_url
export SLSABOX_TEST_TOKEN_URL='$issuer_url/token?api-version=2.0'
export SLSABOX_TEST_TOKEN_SECRET=$(cat "$state/request-token")
EOF
}

case ${1:-} in
  start) with_lock "$run" start ;;
  stop) with_lock "$run" stop ;;
  restart) with_lock "$run" stop; with_lock "$run" start ;;
  status) status ;;
  env) [[ -f $state/request-token ]] || { say "not set up yet; run $0 start"; exit 3; }; env_vars ;;
  trusted-root)
    if [[ -f $root_json ]]; then echo "$root_json"; else say "$root_json is not written yet; run $0 start"; exit 3; fi ;;
  netns) echo "$ns" ;;
  exec) shift; exec ip netns exec "$ns" "$@" ;;
  *) echo "usage: $0 start|stop|restart|status|env|trusted-root|netns|exec CMD..." >&2; exit 2 ;;
esac
