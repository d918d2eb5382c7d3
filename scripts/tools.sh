#!/usr/bin/env bash
# Installs the peer tools the tests compare slsabox with, pinned, from the Go module
# proxy, into $(go env GOPATH)/bin; a tool already there at the pinned version is kept
# (the first install of cosign takes several minutes on two cores). The GitHub Action's
# tests also need shellcheck (from Debian, with apt-get when missing) and
# action-validator (the npm package, pinned, in $SLSABOX_CACHE/tools, linked into the
# same bin directory). The SBOM tests need the schema validator's npm packages, which
# `npm ci` installs into scripts/sbom-validate/node_modules as its lockfile pins them
# (again only when the lockfile changed), and syft (the first build takes minutes too).
#   scripts/tools.sh [cosign|crane|actionlint|act|local-kms|syft|shellcheck|action-validator|sbom-validate]...
#   (default: all)
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/apt.sh
source "$(dirname "$0")/lib/apt.sh"

declare -A pins=(
  [cosign]=github.com/sigstore/cosign/v3/cmd/cosign@v3.1.3
  [crane]=github.com/google/go-containerregistry/cmd/crane@v0.21.7   # lists the referrers slsabox push attaches
  [actionlint]=github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
  [act]=github.com/nektos/act@v0.2.89   # runs the Action and the keyless workflow in the tests
  [local-kms]=github.com/nsmithuk/local-kms@v0.0.0-20260228092603-2a5e92d09ab6   # an AWS KMS server for the KMS plugin test
  [syft]=github.com/anchore/syft/cmd/syft@v1.57.2   # the peer that reads Go modules from the binaries the SBOM lists
)
action_validator=@action-validator/cli@0.6.0

shellcheck() { apt_ensure shellcheck || exit 2; }

action-validator() {
  local dir=${SLSABOX_CACHE:-$HOME/.cache/slsabox}/tools/action-validator-${action_validator##*@}
  if [[ ! -x $dir/node_modules/.bin/action-validator ]]; then
    apt_ensure npm || exit 2
    echo "tools.sh: installing $action_validator (npm, cached in $dir)" >&2
    mkdir -p "$dir"
    npm install --no-audit --no-fund --silent --prefix "$dir" "$action_validator"
  fi
  mkdir -p "$bin"
  ln -sfn "$dir/node_modules/.bin/action-validator" "$bin/action-validator"
}

# sbom-validate installs the packages of scripts/sbom-validate (Ajv, for the SBOM
# schema checks) with npm ci, from npm's cache when it holds them; a stamp of the
# lockfile's sha256 in node_modules skips the install when nothing changed.
sbom-validate() {
  local dir=$repo/scripts/sbom-validate want
  want=$(sha256sum <"$dir/package-lock.json")
  [[ -f $dir/node_modules/.lock-sha256 && $(<"$dir/node_modules/.lock-sha256") == "$want" ]] && return 0
  apt_ensure node:nodejs npm || exit 2
  echo "tools.sh: installing the SBOM validator's packages (npm ci in $dir)" >&2
  (cd "$dir" && npm ci --prefer-offline --no-audit --no-fund --silent)
  printf '%s\n' "$want" >"$dir/node_modules/.lock-sha256"
}

repo=$(cd "$(dirname "$0")/.." && pwd)
bin=$(go env GOPATH)/bin
want=("$@")
((${#want[@]})) || want=("${!pins[@]}" shellcheck action-validator sbom-validate)

for tool in "${want[@]}"; do
  case $tool in shellcheck | action-validator | sbom-validate) "$tool"; continue ;; esac
  pin=${pins[$tool]:-}
  [[ -n $pin ]] || { echo "tools.sh: unknown tool $tool" >&2; exit 2; }
  version=${pin##*@}
  # Static (CGO_ENABLED=0), as these projects build their release binaries: the
  # benchmarks compare slsabox with cosign as users download it.
  if [[ -x $bin/$tool ]] && go version -m "$bin/$tool" 2>/dev/null | grep -qE "^\s+mod\s+\S+\s+$version\s" &&
    go version -m "$bin/$tool" 2>/dev/null | grep -qE "^\s+build\s+CGO_ENABLED=0$"; then
    continue
  fi
  echo "tools.sh: installing $pin (cached afterwards in $bin)" >&2
  GOFLAGS='' CGO_ENABLED=0 go install "$pin"
done
