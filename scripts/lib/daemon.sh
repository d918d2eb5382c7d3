# shellcheck shell=bash
# What the service scripts (containerd, gVisor, registry, Rekor, the CT log, the
# keyless stack) share: starting a daemon, waiting for it to come up, telling whether
# it still runs, stopping it by its pid file, and running one command at a time per
# service. Source it; it defines functions only (and sources say.sh, which daemon_failed
# speaks with).

# shellcheck source=SCRIPTDIR/say.sh
source "$(dirname "${BASH_SOURCE[0]}")/say.sh"

# daemon_launch PIDFILE LOG CMD...: start CMD as a daemon and write its pid to PIDFILE.
# It runs in a session of its own (setsid: it outlives the shell that started it and
# is not hit by its Ctrl-C), reads /dev/null, appends its output to LOG after a line
# that marks this start, and does not inherit file descriptor 9 (with_lock's: a
# daemon must not hold its script's lock). CMD may be a wrapper that execs the daemon
# (env, ip netns exec): the pid stays the daemon's.
daemon_launch() {
  local pidfile=$1 log=$2
  shift 2
  echo "--- ${say_as:-${0##*/}} start $(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$log"
  setsid "$@" >>"$log" 2>&1 </dev/null 9>&- &
  echo $! >"$pidfile"
}

# daemon_failed WHAT LOG: say that WHAT did not come up, and show the end of LOG.
daemon_failed() {
  say "$1 did not come up; the end of its log, $2:"
  tail -20 "$2" >&2
}

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

# daemon_alive PIDFILE [ARG]: true when the process in PIDFILE runs and, given ARG, has
# it among its arguments (followed by a space or the end), so that a pid that the
# kernel has since handed to another process is not taken for the daemon.
daemon_alive() {
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # 2>/dev/null first: it must also hide the error of a process gone meanwhile.
  [[ $# -lt 2 ]] || tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$2 "
}

# daemon_stop TENTHS PIDFILE...: SIGTERM the processes in the PIDFILEs, all at once
# (some take seconds to drain), give them TENTHS tenths of a second to exit, then
# SIGKILL those left; remove the PIDFILEs. A stopped (SIGSTOP) process is continued
# first: it could not act on SIGTERM otherwise.
daemon_stop() {
  local tenths=$1 pidfile pid pids=() alive
  shift
  for pidfile in "$@"; do
    pid=$(cat "$pidfile" 2>/dev/null) || continue
    if kill -0 "$pid" 2>/dev/null; then
      kill -CONT "$pid" 2>/dev/null || true
      kill "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  for _ in $(seq 1 "$tenths"); do
    alive=0
    for pid in "${pids[@]}"; do
      if kill -0 "$pid" 2>/dev/null; then alive=1; fi
    done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  rm -f "$@"
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
