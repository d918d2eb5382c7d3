#!/usr/bin/env bash
# The verification benchmark of docs/performance.md (part of make bench, or alone:
# scripts/bench.sh verify [ARGS]):
#   1. cosign, pinned (scripts/tools.sh), bin/slsabox and bin/slsabox-verify (its
#      verify-only build, -tags slsabox_verifyonly), built as make build does;
#   2. a local Rekor v2 log of its own (scripts/rekor.sh with the state and ports below;
#      stopped again at the end if this script started it);
#   3. go run ./bench/verify, which signs and logs a small artifact's provenance there,
#      then times slsabox verify, both builds, against cosign verify-blob-attestation
#      (alternating, medians; the target is judged on the verify-only build) and the
#      library's verifications per second on one core.
# Arguments go to bench/verify (go run ./bench/verify -h), e.g. -n 40.
# Environment: SLSABOX_RUN/SLSABOX_ROOT (default /run/slsabox-bench, /var/lib/slsabox-bench)
# hold the log; SLSABOX_REKOR_PORT (default 3490, gRPC and metrics the next two).
set -euo pipefail
cd "$(dirname "$0")/.."

export SLSABOX_RUN=${SLSABOX_RUN:-/run/slsabox-bench}
export SLSABOX_ROOT=${SLSABOX_ROOT:-/var/lib/slsabox-bench}
export SLSABOX_REKOR_PORT=${SLSABOX_REKOR_PORT:-3490}
export SLSABOX_REKOR_GRPC_PORT=${SLSABOX_REKOR_GRPC_PORT:-$((SLSABOX_REKOR_PORT + 1))}
export SLSABOX_REKOR_METRICS_PORT=${SLSABOX_REKOR_METRICS_PORT:-$((SLSABOX_REKOR_PORT + 2))}

step() { printf '== %s\n' "$*" >&2; }

step "cosign, bin/slsabox and bin/slsabox-verify"
scripts/tools.sh cosign
CGO_ENABLED=0 go build -trimpath -o bin/slsabox ./cmd/slsabox
CGO_ENABLED=0 go build -trimpath -tags slsabox_verifyonly -o bin/slsabox-verify ./cmd/slsabox

step "local Rekor v2 log"
if ! scripts/rekor.sh status >/dev/null 2>&1; then
	scripts/rekor.sh start
	trap 'scripts/rekor.sh stop' EXIT
fi

step "verification: slsabox verify (verify-only and full build) against cosign verify-blob-attestation"
go run ./bench/verify -rekor-url "$(scripts/rekor.sh url)" -trusted-root "$(scripts/rekor.sh trusted-root)" \
	-slsabox bin/slsabox -slsabox-verify bin/slsabox-verify -cosign "$(go env GOPATH)/bin/cosign" "$@"
