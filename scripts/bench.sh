#!/usr/bin/env bash
# The sandbox benchmarks of docs/performance.md (make bench):
#   1. a private containerd of its own (scripts/containerd.sh; stopped again at the
#      end if this script started it);
#   2. the testbox and go-toolchain images in .cache/images (rebuilt byte for byte
#      from cached downloads) and bin/slsabox;
#   3. go run ./bench/inputs: declared Go module inputs from a warm host cache against
#      go mod download and go mod verify, for examples/go-deps (also from empty caches)
#      and for slsabox's own go.sum (skip with SLSABOX_BENCH_INPUTS=0);
#   4. go run ./bench/sandbox with this script's arguments, e.g.
#        scripts/bench.sh -which a -n 20 -json bench.json
#      (go run ./bench/sandbox -h lists the flags).
#   4. scripts/bench-verify.sh: slsabox verify against cosign on a logged bundle, and
#      the verifier's throughput per core (scripts/bench.sh verify [ARGS] runs only it).
# Environment: SLSABOX_RUN and SLSABOX_ROOT choose the daemon's directories
# (default /run/slsabox-bench and /var/lib/slsabox-bench).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ${1:-} == verify ]]; then shift; exec scripts/bench-verify.sh "$@"; fi
repo=$PWD

export SLSABOX_RUN=${SLSABOX_RUN:-/run/slsabox-bench}
export SLSABOX_ROOT=${SLSABOX_ROOT:-/var/lib/slsabox-bench}
images=$repo/.cache/images

step() { printf '== %s\n' "$*" >&2; }

step "private containerd"
if ! scripts/containerd.sh status >/dev/null 2>&1; then
	scripts/containerd.sh start
	trap 'scripts/containerd.sh stop' EXIT
fi
sock=$(scripts/containerd.sh address)

step "images and bin/slsabox"
mkdir -p "$images"
testbox=$(scripts/images/testbox.sh "$images")
gotool=$(scripts/images/go-toolchain.sh "$images")
go build -trimpath -o bin/slsabox ./cmd/slsabox

if [ "${SLSABOX_BENCH_INPUTS:-1}" != 0 ]; then
	step "inputs: warm host cache vs go mod download (network for the cold runs)"
	inputs_cache=${SLSABOX_CACHE:-$HOME/.cache/slsabox}/bench-inputs
	go run ./bench/inputs -n 10 -cold 3 -cache "$inputs_cache" examples/go-deps
	go run ./bench/inputs -n 5 -cache "$inputs_cache" -gomodcache "$(go env GOMODCACHE)" .
fi

step "benchmarks"
go run ./bench/sandbox -containerd "$sock" -slsabox bin/slsabox \
	-testbox "$testbox" -go-image "$gotool" "$@"

scripts/bench-verify.sh
