# shellcheck shell=bash
# What the service scripts (containerd, registry, Rekor, the CT log, the keyless stack)
# share: waiting for a daemon to come up, stopping one by its pid file, and running one
# command at a time per service. Source it; it defines functions only.

# daemon_await PIDFILE TENTHS CHECK...: wait until CHECK succeeds (return 0), for at
# most TENTHS tenths of a second; return 1 when the time is up or the process in
# PIDFILE has died.
daemon_await() {
  local pidfile=$1 tenths=$2
  shift 2
  for _ in $(seq 1 "$tenths"); do
    if "$@"; then return 0; fi
    kill -0 "$(cat "$pidfile" 2>/dev/null)" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# daemon_stop PIDFILE [TENTHS]: SIGTERM the process in PIDFILE, give it TENTHS tenths
# of a second (default 50) to exit, then SIGKILL it; remove PIDFILE.
daemon_stop() {
  local pidfile=$1 tenths=${2:-50} pid
  [[ -f $pidfile ]] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 "$tenths"); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

# with_lock DIR CMD...: run CMD holding DIR/lock (file descriptor 9), so that a start
# racing a stop of the same service cannot leave a stray server.
with_lock() {
  local dir=$1
  shift
  mkdir -p "$dir"
  exec 9>"$dir/lock"
  flock 9
  "$@"
}
