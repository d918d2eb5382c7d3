#!/usr/bin/env bash
# Installs the peer tools the tests compare slsabox with, pinned, from the Go module
# proxy, into $(go env GOPATH)/bin; a tool already there at the pinned version is kept
# (the first install of cosign takes several minutes on two cores).
#   scripts/tools.sh [cosign]...   (default: all)
set -euo pipefail

declare -A pins=(
  [cosign]=github.com/sigstore/cosign/v3/cmd/cosign@v3.1.3
  [act]=github.com/nektos/act@v0.2.89   # the keyless workflow test runs a job through it
)

bin=$(go env GOPATH)/bin
want=("$@")
((${#want[@]})) || want=("${!pins[@]}")

for tool in "${want[@]}"; do
  pin=${pins[$tool]:-}
  [[ -n $pin ]] || { echo "tools.sh: unknown tool $tool" >&2; exit 2; }
  version=${pin##*@}
  if [[ -x $bin/$tool ]] && go version -m "$bin/$tool" 2>/dev/null | grep -qE "^\s+mod\s+\S+\s+$version\s"; then
    continue
  fi
  echo "tools.sh: installing $pin (cached afterwards in $bin)" >&2
  GOFLAGS='' go install "$pin"
done
