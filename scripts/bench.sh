#!/usr/bin/env bash
# The benchmarks of docs/performance.md (make bench runs them all):
#   scripts/bench.sh [sandbox ARGS | load ARGS | inputs | verify ARGS | push ARGS]
#   sandbox  go run ./bench/sandbox: (a) a trivial step through slsabox build against
#            ctr run --rm, (b) a cold go build in the sandbox (defences on) against the
#            host, (c) the trivial step with the defences on against off and ctr; ARGS
#            go to it, e.g. scripts/bench.sh sandbox -which a -n 20 -json bench.json
#            (go run ./bench/sandbox -h lists the flags). A private containerd of its
#            own (stopped again at the end if this script started it), the testbox and
#            go-toolchain images in .cache/images, and bin/slsabox. (g) and (h), gVisor
#            against runc, need the gVisor containerd first: scripts/gvisor.sh start &&
#            eval "$(scripts/gvisor.sh env)"; scripts/bench.sh sandbox -which g,h.
#   load     go run ./bench/load: 8 builds in series against the same 8 at once on one
#            containerd, (a) a trivial step and (b) a short step that waits and
#            writes; the throughput ratio against 1.6x, beside the peer's (the same
#            step through ctr run --rm, in the same rounds). ARGS go to it, e.g.
#            scripts/bench.sh load -which b -n 4 -json load.json. Same daemon and
#            testbox image as sandbox.
#   inputs   go run ./bench/inputs: declared Go module inputs from a warm host cache
#            against go mod download and go mod verify, for examples/go-deps (also from
#            empty caches) and for slsabox's own go.sum.
#   verify   scripts/bench-verify.sh: slsabox verify (its verify-only build and the
#            full one) against cosign on a logged bundle,
#            and the verifier's throughput per core.
#   push     go run ./bench/push: slsabox push of examples/hello-image's signed build
#            (built here first) against cosign attest --new-bundle-format of the same
#            image with the same predicate, on the registry with the referrers API
#            (scripts/registry.sh oci, started and stopped here if not running); ARGS
#            go to it, e.g. scripts/bench.sh push -n 20.
# With no subcommand, all five, load with its defaults (ARGS, if any, go to sandbox).
# Environment: SLSABOX_RUN and SLSABOX_ROOT choose the daemon's directories
# (default /run/slsabox-bench and /var/lib/slsabox-bench).
set -euo pipefail
cd "$(dirname "$0")/.."
which=all
case ${1:-} in
sandbox | load | inputs | verify | push) which=$1; shift ;;
esac
if [[ $which == verify ]]; then exec scripts/bench-verify.sh "$@"; fi
repo=$PWD

export SLSABOX_RUN=${SLSABOX_RUN:-/run/slsabox-bench}
export SLSABOX_ROOT=${SLSABOX_ROOT:-/var/lib/slsabox-bench}
images=$repo/.cache/images

step() { printf '== %s\n' "$*" >&2; }
# What this script started, stopped at exit (newest first).
stops=()
stop_all() { local i; for ((i = ${#stops[@]} - 1; i >= 0; i--)); do ${stops[i]}; done; }
trap stop_all EXIT

if [[ $which == inputs || $which == all ]]; then
	step "inputs: warm host cache vs go mod download (network for the cold runs)"
	inputs_cache=${SLSABOX_CACHE:-$HOME/.cache/slsabox}/bench-inputs
	go run ./bench/inputs -n 10 -cold 3 -cache "$inputs_cache" examples/go-deps
	go run ./bench/inputs -n 5 -cache "$inputs_cache" -gomodcache "$(go env GOMODCACHE)" .
fi

if [[ $which == sandbox || $which == load || $which == push || $which == all ]]; then
	step "private containerd"
	if ! scripts/containerd.sh status >/dev/null 2>&1; then
		scripts/containerd.sh start
		stops+=("scripts/containerd.sh stop")
	fi
	sock=$(scripts/containerd.sh address)

	step "images and bin/slsabox"
	mkdir -p "$images"
	testbox=$(scripts/images/testbox.sh "$images")
	if [[ $which != load ]]; then gotool=$(scripts/images/go-toolchain.sh "$images"); fi
	export SLSABOX_CONTAINERD=$sock
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

if [[ $which == push || $which == all ]]; then
	step "push: slsabox push against cosign attest, on a registry with the referrers API"
	scripts/tools.sh cosign
	if ! scripts/registry.sh oci status >/dev/null 2>&1; then
		scripts/registry.sh oci start
		stops+=("scripts/registry.sh oci stop")
	fi
	work=$(mktemp -d)
	# examples/hello-go's committed tree with hello-image's definition, on the local image.
	git archive HEAD examples/hello-go | tar -x -C "$work"
	src=$work/examples/hello-go
	sed "s|^image: .*|image: $gotool|" examples/hello-image/slsabox.yaml >"$src/slsabox.yaml"
	git -C "$src" init -q && git -C "$src" add -A &&
		git -C "$src" -c user.name=bench -c user.email=bench@example.org commit -qm bench
	bin/slsabox keygen -q --out "$work/key" >/dev/null
	bin/slsabox build -q -o "$work/out" --key "$work/key.key" --no-tlog "$src" >/dev/null
	push_args=()
	if [[ $which == push ]]; then push_args=("$@"); fi
	go run ./bench/push -slsabox bin/slsabox -cosign "$(go env GOPATH)/bin/cosign" -out "$work/out" \
		-key "$work/key.key" -registry "$(scripts/registry.sh oci address)" "${push_args[@]}"
	rm -rf "$work"
fi

if [[ $which == all ]]; then
	scripts/bench-verify.sh
fi
