#!/usr/bin/env bash
# The benchmarks of docs/performance.md (make bench runs them all):
#   scripts/bench.sh [sandbox ARGS | load ARGS | inputs | verify ARGS]
#   sandbox  go run ./bench/sandbox: (a) a trivial step through slsabox build against
#            ctr run --rm, (b) a cold go build in the sandbox against the host; ARGS go
#            to it, e.g. scripts/bench.sh sandbox -which a -n 20 -json bench.json
#            (go run ./bench/sandbox -h lists the flags). A private containerd of its
#            own (stopped again at the end if this script started it), the testbox and
#            go-toolchain images in .cache/images, and bin/slsabox.
#   load     go run ./bench/load: 8 builds in series against the same 8 at once on one
#            containerd, (a) a trivial step and (b) a short step that waits and
#            writes; the throughput ratio against 1.6x. ARGS go to it, e.g.
#            scripts/bench.sh load -which b -n 5 -json load.json. Same daemon and
#            testbox image as sandbox.
#   inputs   go run ./bench/inputs: declared Go module inputs from a warm host cache
#            against go mod download and go mod verify, for examples/go-deps (also from
#            empty caches) and for slsabox's own go.sum.
#   verify   scripts/bench-verify.sh: slsabox verify against cosign on a logged bundle,
#            and the verifier's throughput per core.
# With no subcommand, all four, load with its defaults (ARGS, if any, go to sandbox).
# Environment: SLSABOX_RUN and SLSABOX_ROOT choose the daemon's directories
# (default /run/slsabox-bench and /var/lib/slsabox-bench).
set -euo pipefail
cd "$(dirname "$0")/.."
which=all
case ${1:-} in
sandbox | load | inputs | verify) which=$1; shift ;;
esac
if [[ $which == verify ]]; then exec scripts/bench-verify.sh "$@"; fi
repo=$PWD

export SLSABOX_RUN=${SLSABOX_RUN:-/run/slsabox-bench}
export SLSABOX_ROOT=${SLSABOX_ROOT:-/var/lib/slsabox-bench}
images=$repo/.cache/images

step() { printf '== %s\n' "$*" >&2; }

if [[ $which == inputs || $which == all ]]; then
	step "inputs: warm host cache vs go mod download (network for the cold runs)"
	inputs_cache=${SLSABOX_CACHE:-$HOME/.cache/slsabox}/bench-inputs
	go run ./bench/inputs -n 10 -cold 3 -cache "$inputs_cache" examples/go-deps
	go run ./bench/inputs -n 5 -cache "$inputs_cache" -gomodcache "$(go env GOMODCACHE)" .
fi

if [[ $which == sandbox || $which == load || $which == all ]]; then
	step "private containerd"
	if ! scripts/containerd.sh status >/dev/null 2>&1; then
		scripts/containerd.sh start
		trap 'scripts/containerd.sh stop' EXIT
	fi
	sock=$(scripts/containerd.sh address)

	step "images and bin/slsabox"
	mkdir -p "$images"
	testbox=$(scripts/images/testbox.sh "$images")
	if [[ $which != load ]]; then gotool=$(scripts/images/go-toolchain.sh "$images"); fi
	CGO_ENABLED=0 go build -trimpath -o bin/slsabox ./cmd/slsabox
fi

if [[ $which == sandbox || $which == all ]]; then
	step "sandbox: slsabox build against ctr run and the host"
	go run ./bench/sandbox -containerd "$sock" -slsabox bin/slsabox \
		-testbox "$testbox" -go-image "$gotool" "$@"
fi

if [[ $which == load || $which == all ]]; then
	step "load: 8 builds in series against 8 at once"
	load_args=()
	if [[ $which == load ]]; then load_args=("$@"); fi
	go run ./bench/load -containerd "$sock" -slsabox bin/slsabox -testbox "$testbox" "${load_args[@]}"
fi

if [[ $which == all ]]; then
	scripts/bench-verify.sh
fi
