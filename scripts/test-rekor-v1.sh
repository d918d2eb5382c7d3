#!/usr/bin/env bash
# The optional Rekor v1 job: the transparency log integration tests (and the CLI ones)
# against a real Rekor v1 log instead of the default Rekor v2 one.
#   1. the peer tools (cosign), a private containerd and the testbox image, as
#      scripts/test.sh sets them up;
#   2. a local Rekor v1.5.4 + Trillian v1.8.0 + MariaDB stack (scripts/rekor-v1.sh);
#   3. go test -tags integration ./cmd/slsabox -run 'Tlog|TestCLI' with
#      --rekor-version 1; the outage tests stop, start and kill that stack.
# Everything it started is stopped at exit. Extra arguments go to go test.
#
# Its directories differ from scripts/test.sh's (/run/slsabox-test, ...), so that both
# can run at once: each stops its containerd at exit, and test.sh restarts its own
# under its tests.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

export SLSABOX_RUN=${SLSABOX_RUN:-/run/slsabox-test-rekor-v1}
export SLSABOX_ROOT=${SLSABOX_ROOT:-/var/lib/slsabox-test-rekor-v1}
export SLSABOX_TEST_IMAGES=${SLSABOX_TEST_IMAGES:-$repo/.cache/images-rekor-v1}
export SLSABOX_CONTAINERD=$SLSABOX_RUN/containerd/containerd.sock
export SLSABOX_TEST_RESTART=1
export GOFLAGS=${GOFLAGS:--mod=readonly}
# A missing service fails the tests instead of skipping them.
export CI=true

step() { printf '\n== %s\n' "$*" >&2; }
now() { date +%s; }

step "peer tools (cosign)"
scripts/tools.sh cosign

step "private containerd and the testbox image"
scripts/containerd.sh start
trap 'scripts/containerd.sh stop' EXIT
mkdir -p "$SLSABOX_TEST_IMAGES"
scripts/images/testbox.sh "$SLSABOX_TEST_IMAGES"

step "local Rekor v1 log (rekor-server v1.5.4, Trillian v1.8.0, MariaDB)"
t0=$(now)
scripts/rekor-v1.sh start
trap 'scripts/rekor-v1.sh stop; scripts/containerd.sh stop' EXIT
echo "rekor v1 stack up in $(($(now) - t0)) s" >&2
SLSABOX_REKOR_URL=$(scripts/rekor-v1.sh url)
SLSABOX_TRUSTED_ROOT=$(scripts/rekor-v1.sh trusted-root)
# Absolute: the tests run in cmd/slsabox.
export SLSABOX_REKOR_URL SLSABOX_TRUSTED_ROOT SLSABOX_REKOR_VERSION=1 \
  SLSABOX_REKOR_SCRIPT=$repo/scripts/rekor-v1.sh

step "integration tests against Rekor v1 ($SLSABOX_REKOR_URL)"
# -p 1: one test restarts the log under the others.
go test -count=1 -p 1 -timeout 30m -tags integration ./cmd/slsabox -run 'Tlog|TestCLI' "$@"
