#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls this):
#   1. gofmt, go vet and the unit tests with -race (no services needed);
#   2. a private containerd (own root, state and socket; CRI off), installed from
#      Debian when missing, and the test images built locally;
#   3. the integration tests (-tags integration) against that containerd, among them
#      the GitHub Action run for real by nektos/act (internal/actiontest);
#   4. the sandbox and hostile suites again with every step under gVisor, against a
#      private containerd 2.4.2 with runsc (scripts/gvisor.sh; pinned, built static).
# In CI (CI=true) a missing service fails the tests instead of skipping them.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

export SLSABOX_RUN=${SLSABOX_RUN:-/run/slsabox-test}
export SLSABOX_ROOT=${SLSABOX_ROOT:-/var/lib/slsabox-test}
export SLSABOX_TEST_IMAGES=${SLSABOX_TEST_IMAGES:-$repo/.cache/images}
export SLSABOX_CONTAINERD=$SLSABOX_RUN/containerd/containerd.sock
export SLSABOX_TEST_RESTART=1
export GOFLAGS=${GOFLAGS:--mod=readonly}

# step NAME starts a phase; each phase's wall time is printed as it ends, and all of
# them at exit, so that a cold run's cost can be read off CI's log.
phases=() phase_start=$SECONDS phase_name=
step() {
  end_phase
  phase_name=$*
  phase_start=$SECONDS
  printf '\n== %s\n' "$*" >&2
}
end_phase() {
  [[ -n $phase_name ]] || return 0
  phases+=("$(printf '%5ds  %s' $((SECONDS - phase_start)) "$phase_name")")
  phase_name=
}
summary() {
  local rc=$?
  end_phase
  printf '\n== phases (exit %d after %ds)\n' "$rc" "$SECONDS" >&2
  printf '%s\n' "${phases[@]}" >&2
}

trap summary EXIT

step "gofmt and go vet"
unformatted=$(git ls-files -z '*.go' | xargs -0 gofmt -l)
if [[ -n $unformatted ]]; then echo "gofmt would change:"; echo "$unformatted"; exit 1; fi
go vet ./...
go vet -tags integration ./...
go vet -tags slsabox_verifyonly ./cmd/slsabox  # the verify-only build, its tests included
# The image helpers are modules of their own (their dependencies stay out of go.mod).
for mod in scripts/images/toolbox scripts/images/suidbox; do (cd "$mod" && go vet ./...); done

step "unit tests"
go test -race -count=1 ./...
go test -race -count=1 -tags slsabox_verifyonly ./cmd/slsabox  # cmd/slsabox's unit tests again, in the verify-only build
(cd scripts/images/toolbox && go test -race -count=1 ./...)

step "peer tools (cosign, crane, actionlint, act, local-kms, syft, shellcheck, action-validator, sbom-validate)"
scripts/tools.sh

step "GitHub Action and workflows: actionlint, shellcheck, action-validator"
go test -count=1 -tags integration -run 'TestActionlint|TestShellcheck|TestActionSchema' ./internal/actiontest

step "private containerd and test images"
scripts/containerd.sh start
trap 'summary; scripts/containerd.sh stop' EXIT
# A private OCI registry on 127.0.0.1 (Debian's docker-registry) for pulls by digest.
export SLSABOX_REGISTRY_PORT=${SLSABOX_REGISTRY_PORT:-5015}  # its own port, beside a registry on the default
scripts/registry.sh start
trap 'summary; scripts/registry.sh stop; scripts/containerd.sh stop' EXIT
# A second one that serves the OCI 1.1 referrers API, which docker-registry lacks.
export SLSABOX_REGISTRY_OCI_PORT=${SLSABOX_REGISTRY_OCI_PORT:-5016}
scripts/registry.sh oci start
trap 'summary; scripts/registry.sh oci stop; scripts/registry.sh stop; scripts/containerd.sh stop' EXIT
SLSABOX_REGISTRY=$(scripts/registry.sh address)
SLSABOX_REGISTRY_OCI=$(scripts/registry.sh oci address)
export SLSABOX_REGISTRY SLSABOX_REGISTRY_OCI

step "local Rekor v2 log (rekor-tiles, built from the pinned module)"
# Ports of their own, so that the demo's log can keep running beside the tests.
export SLSABOX_REKOR_PORT=${SLSABOX_REKOR_PORT:-3420} SLSABOX_REKOR_GRPC_PORT=${SLSABOX_REKOR_GRPC_PORT:-3421} \
  SLSABOX_REKOR_METRICS_PORT=${SLSABOX_REKOR_METRICS_PORT:-3422}
scripts/rekor.sh start
trap 'summary; scripts/rekor.sh stop; scripts/registry.sh oci stop; scripts/registry.sh stop; scripts/containerd.sh stop' EXIT
SLSABOX_REKOR_URL=$(scripts/rekor.sh url)
SLSABOX_TRUSTED_ROOT=$(scripts/rekor.sh trusted-root)
export SLSABOX_REKOR_URL SLSABOX_TRUSTED_ROOT

step "local keyless stack (test OIDC issuer, Fulcio, TSA, Rekor v2) in its own network namespace"
scripts/keyless.sh start
trap 'summary; scripts/keyless.sh stop; scripts/rekor.sh stop; scripts/registry.sh oci stop; scripts/registry.sh stop; scripts/containerd.sh stop' EXIT

step "test images (testbox and go-toolchain from Go modules only; debian-c from Debian's archive)"
mkdir -p "$SLSABOX_TEST_IMAGES"
scripts/images/testbox.sh "$SLSABOX_TEST_IMAGES"
scripts/images/go-toolchain.sh "$SLSABOX_TEST_IMAGES"
scripts/images/debian-c.sh "$SLSABOX_TEST_IMAGES"   # minutes the first time, cached after

step "gVisor: runsc, its shim and containerd 2.4.2 (pinned, built static; minutes the first time), and a private containerd that runs them"
scripts/gvisor.sh start
trap 'summary; scripts/gvisor.sh stop; scripts/keyless.sh stop; scripts/rekor.sh stop; scripts/registry.sh oci stop; scripts/registry.sh stop; scripts/containerd.sh stop' EXIT
# SLSABOX_GVISOR_CONTAINERD and SLSABOX_RUNSC: TestGVisorBuild below, and the gVisor pass.
eval "$(scripts/gvisor.sh env)"

step "integration tests (containerd $(containerd --version | awk '{print $3}'))"
# -p 1: one package at a time, since one test restarts the daemon under the others.
# The keyless tests run in the next pass, inside the keyless stack's namespace.
SLSABOX_KEYLESS_LATER=1 go test -race -count=1 -p 1 -timeout 40m -tags integration ./...

step "keyless integration tests, inside the keyless stack's network namespace"
(
  eval "$(scripts/keyless.sh env)"
  # ./internal/actiontest: the GitHub Action signing keyless under act (TestKeylessActionWithAct).
  scripts/keyless.sh exec go test -race -count=1 -p 1 -timeout 30m -tags integration -run Keyless ./attest ./cmd/slsabox ./internal/actiontest
)

step "sandbox and hostile suites again, with every step under gVisor (containerd 2.4.2, runsc)"
# The builder's sandbox tests (hostile steps, limits, user namespace, 32-bit and x32
# system calls, sweep, restart) and the CLI's hostile repositories, against the gVisor
# daemon; SLSABOX_RUNTIME makes both the tests' builders and slsabox build use gVisor.
SLSABOX_RUNTIME=gvisor SLSABOX_CONTAINERD=$SLSABOX_GVISOR_CONTAINERD \
  go test -race -count=1 -p 1 -timeout 20m -tags integration \
  -run 'TestSandbox|TestLoopMountAutoclear|TestHostileRepository|TestHiddenDefinitionEdit|TestGitHubCheckoutMismatch' ./builder ./cmd/slsabox
