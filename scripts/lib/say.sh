# shellcheck shell=bash
# How the scripts speak: every message goes to stderr and starts with the name of the
# script that says it (rekor.sh: ...), so that a log where several scripts write
# (keyless.sh runs rekor.sh and ctlog.sh) shows where each line comes from. Source it;
# it defines functions only.
#
# say_as, when a script sets it, replaces the script's name (the Action's scripts speak
# as "slsabox action").

# say MESSAGE...: one line on stderr, "NAME: MESSAGE".
say() { printf '%s: %s\n' "${say_as:-${0##*/}}" "$*" >&2; }

# die MESSAGE [HINT [CODE]]: say "error: MESSAGE", then "hint: HINT" when given, and
# exit CODE (default 1).
die() {
  say "error: $1"
  [ $# -lt 2 ] || say "hint: $2"
  exit "${3:-1}"
}
