# shellcheck shell=bash
# Helpers of the GitHub Action's scripts (action.yml at the repository root); source
# it, do not run it. The scripts read their inputs from INPUT_* variables that
# action.yml sets from `with:` (never from ${{ }} pasted into shell), so that an
# input's value is data, not code.

set -euo pipefail

# shellcheck disable=SC2034 # used by the scripts that source this
action_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# say speaks as "slsabox action", whichever script of the action runs. The action's
# tree is whole at $GITHUB_ACTION_PATH (action.yml runs the scripts from there), so the
# repository's library is at hand.
say_as="slsabox action"
# shellcheck source=SCRIPTDIR/../lib/say.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/say.sh"

# fail MESSAGE [HINT [CODE]]: die for a workflow step: the error is a GitHub error
# annotation (shown on the run's page), then the hint, and exit CODE (default 2, bad
# input).
fail() {
	# A workflow command ends at a newline: one in MESSAGE (an input's value) must not
	# start another command. %, CR and LF are escaped as the runner expects.
	local msg=${1//%/%25}
	msg=${msg//$'\r'/%0D}
	msg=${msg//$'\n'/%0A}
	printf '::error title=slsabox action::%s\n' "$msg" >&2
	[ $# -lt 2 ] || say "hint: $2"
	exit "${3:-2}"
}

# bool NAME VALUE prints true or false, accepting what YAML 1.2 and GitHub accept.
bool() {
	case ${2,,} in
	true | yes | on | 1) echo true ;;
	false | no | off | 0 | '') echo false ;;
	*) fail "input $1 must be true or false, not \"$2\"" "write $1: true or $1: false" ;;
	esac
}

# as_root CMD... runs CMD as root: containerd and the sandbox's mounts need it.
# GitHub's hosted runners run steps as the user "runner" with password-less sudo.
# scriptcheck:optional sudo (used only when the runner has it)
as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo -E "$@"
	else
		fail "slsabox needs root for containerd and the sandbox, and sudo is not installed" \
			"run the job as root, or on a runner with password-less sudo (GitHub's hosted runners have it)" 3
	fi
}

# set_output NAME VALUE appends NAME to $GITHUB_OUTPUT, with a delimiter that the
# value cannot contain (values may hold newlines).
set_output() {
	local delim
	delim=slsabox_$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
	printf '%s<<%s\n%s\n%s\n' "$1" "$delim" "$2" "$delim" >>"${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set: run this from action.yml}"
}
