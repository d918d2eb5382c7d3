#!/usr/bin/env bash
# build.sh SLSABOX runs `slsabox build` for the GitHub Action (action.yml) and hands
# its result back to the workflow: outputs in $GITHUB_OUTPUT, a table of subjects,
# digests and the log entry in $GITHUB_STEP_SUMMARY.
#
# Inputs (set by action.yml from `with:`): INPUT_SOURCE_DIR, INPUT_DEFINITION,
# INPUT_OUTPUT_DIR, INPUT_SIGNING_KEY (PEM), INPUT_SIGNING_KEY_PASSPHRASE,
# INPUT_KMS_KEY (KMS URI), INPUT_KEYLESS (auto, true, false), INPUT_FULCIO_URL,
# INPUT_TSA_URL, INPUT_REKOR_URL, INPUT_REKOR_VERSION,
# INPUT_NO_TLOG, INPUT_BUILDER_ID, INPUT_CONTAINERD_ADDRESS, INPUT_RUNTIME,
# INPUT_UPLOAD, INPUT_SBOM_FORMAT.
# Without INPUT_CONTAINERD_ADDRESS it starts a private containerd with
# scripts/containerd.sh (own root, state and socket under SLSABOX_ROOT and
# SLSABOX_RUN), or with INPUT_RUNTIME gvisor one that runs gVisor with
# scripts/gvisor.sh (under SLSABOX_RUN-gvisor and SLSABOX_ROOT-gvisor), and stops it
# again at the end, unless it was already running.
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

if [ $# -ne 1 ] || [ ! -x "$1" ]; then fail "usage: build.sh SLSABOX (the binary install.sh printed)"; fi
slsabox=$1
command -v jq >/dev/null || fail "jq is not installed (the action reads slsabox's JSON result with it)" "apt-get install jq (GitHub's hosted runners have it)" 3
tmp=$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/slsabox-action.XXXXXX")
containerd_sh=$action_root/scripts/containerd.sh
started_containerd=false
# shellcheck disable=SC2317 # called by the trap
on_exit() {
	rm -rf "$tmp"
	if [ "$started_containerd" = true ]; then daemon stop || true; fi
}
trap on_exit EXIT

no_tlog=$(bool no-tlog "${INPUT_NO_TLOG:-false}")
upload=$(bool upload "${INPUT_UPLOAD:-true}")
push=$(bool push "${INPUT_PUSH:-false}")
set_output upload "$upload"
src=${INPUT_SOURCE_DIR:-.}
out=${INPUT_OUTPUT_DIR:-slsabox-out}
args=(build "$src" --out "$out" --output json)
[ -z "${INPUT_DEFINITION:-}" ] || args+=(--file "$INPUT_DEFINITION")
[ -z "${INPUT_SBOM_FORMAT:-}" ] || args+=(--sbom-format "$INPUT_SBOM_FORMAT")
# The runtime: the input, else the definition's (slsabox never weakens a definition's
# gvisor to runc, and refuses the input runc for one).
runtime=${INPUT_RUNTIME:-}
case $runtime in
"" | runc | gvisor) ;;
*) fail "input runtime must be runc or gvisor, not \"$runtime\"" "write runtime: gvisor to run the steps under gVisor, runtime: runc, or leave it out to run what slsabox.yaml says (sandbox.runtime)" ;;
esac
[ -z "$runtime" ] || args+=(--runtime "$runtime")
unset SLSABOX_RUNTIME

# Signing: keyless (a Fulcio certificate for the job's OIDC identity) when the job may
# request an ID token (permissions: id-token: write makes the runner set both
# variables) and no key is given; a PEM key from a secret or a KMS URI otherwise.
# slsabox reads the token variables itself: they never reach a command line or a log.
case ${INPUT_KEYLESS:-auto} in
auto | AUTO | Auto) keyless=auto ;;
*) keyless=$(bool keyless "$INPUT_KEYLESS") ;;
esac
# (The runner masks ACTIONS_ID_TOKEN_REQUEST_TOKEN itself; echoing it in an add-mask
# command would only put it in the raw logs of runners such as act.)
id_token=false
if [ -n "${ACTIONS_ID_TOKEN_REQUEST_URL:-}" ] && [ -n "${ACTIONS_ID_TOKEN_REQUEST_TOKEN:-}" ]; then id_token=true; fi
if [ -n "${INPUT_SIGNING_KEY:-}" ] && [ -n "${INPUT_KMS_KEY:-}" ]; then
	fail "signing-key and kms-key are both set" "pass one: signing-key for a PEM key in a secret, kms-key for a KMS URI (or neither, to sign keyless)"
fi
has_key=false
if [ -n "${INPUT_SIGNING_KEY:-}" ] || [ -n "${INPUT_KMS_KEY:-}" ]; then has_key=true; fi
no_id_token_hint="grant the job an OIDC token with \`permissions: id-token: write\` (keyless, the default), or pass signing-key: \${{ secrets.SLSABOX_SIGNING_KEY }} (a PEM from slsabox keygen) or kms-key: awskms://... (gcpkms://, azurekms://, hashivault://)"
case $keyless/$has_key/$id_token in
true/true/*) fail "keyless is true, but signing-key or kms-key is set too" "keyless signing uses no key: drop the key input, or set keyless: false (or leave it auto) to sign with the key" ;;
true/false/false) fail "keyless is true, but the job cannot request an OIDC token (ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set)" \
	"add \`permissions: id-token: write\` to the job (a pull request from a fork never gets one), or sign with signing-key or kms-key" ;;
false/false/*) fail "keyless is false, but no signing key is given: set signing-key or kms-key" \
	"signing-key: \${{ secrets.SLSABOX_SIGNING_KEY }} (a PEM from slsabox keygen), or kms-key: awskms://... (gcpkms://, azurekms://, hashivault://); or leave keyless at auto and grant \`permissions: id-token: write\`" ;;
auto/false/false) fail "nothing to sign with: no signing-key or kms-key, and the job cannot request an OIDC token for keyless signing" "$no_id_token_hint" ;;
esac
if [ "$has_key" = false ]; then
	mode=keyless
	args+=(--keyless --fulcio-url "${INPUT_FULCIO_URL:-https://fulcio.sigstore.dev}"
		--tsa-url "${INPUT_TSA_URL:-https://timestamp.sigstore.dev/api/v1/timestamp}")
	say "signing keyless: a Fulcio certificate (${INPUT_FULCIO_URL:-https://fulcio.sigstore.dev}) for this job's OIDC identity"
elif [ -n "${INPUT_SIGNING_KEY:-}" ]; then
	mode=key
	case $INPUT_SIGNING_KEY in
	*"-----BEGIN "*"PRIVATE KEY-----"*) ;;
	*) fail "signing-key is not a PEM private key" \
		"store the whole .key file that slsabox keygen wrote (-----BEGIN ... PRIVATE KEY----- lines included) in a secret" ;;
	esac
	(umask 077 && printf '%s\n' "$INPUT_SIGNING_KEY" >"$tmp/signing.key")
	args+=(--key "$tmp/signing.key")
else
	mode=key
	args+=(--key "$INPUT_KMS_KEY")
	# install.sh put the KMS plugin beside slsabox, where slsabox looks first.
fi
unset SLSABOX_IDENTITY_TOKEN SLSABOX_FULCIO_URL SLSABOX_TSA_URL
unset INPUT_SIGNING_KEY SLSABOX_KEY
if [ -n "${INPUT_SIGNING_KEY_PASSPHRASE:-}" ]; then export SLSABOX_KEY_PASSWORD=$INPUT_SIGNING_KEY_PASSPHRASE; fi
unset INPUT_SIGNING_KEY_PASSPHRASE

# The log: slsabox itself checks the URL and version and names the fix.
if [ "$no_tlog" = false ] && [ -z "${INPUT_REKOR_URL:-}" ]; then
	fail "no transparency log: rekor-url is not set" \
		"set rekor-url: https://rekor.sigstore.dev with rekor-version: 1 for Sigstore's public log (what the public-good trusted root built into slsabox verify trusts), or your own Rekor; no-tlog: true signs without logging"
fi
if [ "$no_tlog" = true ]; then
	args+=(--no-tlog)
else
	args+=(--rekor-url "${INPUT_REKOR_URL:-}" --rekor-version "${INPUT_REKOR_VERSION:-2}")
fi
unset SLSABOX_REKOR_URL

# Images (images: in slsabox.yaml): pushed by digest with the provenance attached as a
# referrer. The registry token reaches slsabox (root) only when it pushes, as
# GITHUB_TOKEN, which slsabox uses for ghcr.io; other registries take docker login's.
if [ "$push" = true ]; then
	args+=(--push)
	if [ -n "${INPUT_REGISTRY:-}" ]; then args+=(--registry "$INPUT_REGISTRY"); fi
	# read -a splits on blanks and newlines without expanding globs; slsabox checks each tag.
	while read -r -a words; do
		for tag in "${words[@]}"; do args+=(--tag "$tag"); done
	done <<<"${INPUT_TAGS:-}"
	registry_token=${INPUT_REGISTRY_TOKEN:-}
elif [ -n "${INPUT_REGISTRY:-}" ] || [ -n "${INPUT_TAGS:-}" ]; then
	fail "registry or tags is set, but push is not" "set push: true to push the images (registry replaces the registry part of their names, tags are written after the push)"
fi
unset INPUT_REGISTRY_TOKEN

# builder.id: slsabox reads the workflow identity from GITHUB_WORKFLOW_REF.
if [ -n "${INPUT_BUILDER_ID:-}" ]; then
	args+=(--builder-id "$INPUT_BUILDER_ID")
elif [ -z "${GITHUB_WORKFLOW_REF:-}" ]; then
	printf '::warning title=slsabox action::%s\n' "GITHUB_WORKFLOW_REF is not set, so builder.id is not the workflow's identity; set builder-id" >&2
fi
unset SLSABOX_BUILDER_ID

# containerd: the one given, else a private daemon of our own: Debian's containerd with
# runc, or for gVisor a containerd 2.x with the runsc shim (Debian 12's 1.6 cannot run
# the shim), whose runsc slsabox then names to the shim and records.
# gvisor.sh builds its tools as the runner's user, with the runner's Go, HOME and
# caches, into SLSABOX_CACHE; then root runs the daemon with that PATH (its start checks
# the tools with go version -m) and that cache (sudo may give root another HOME).
daemon_sh=$containerd_sh
daemon_env=()
if [ "$runtime" = gvisor ]; then
	daemon_sh=$action_root/scripts/gvisor.sh
	export SLSABOX_CACHE=${SLSABOX_CACHE:-$HOME/.cache/slsabox}
	daemon_env=("PATH=$PATH" "SLSABOX_CACHE=$SLSABOX_CACHE")
fi
# daemon ARG runs the private daemon's script as root.
daemon() { as_root env "${daemon_env[@]}" "$daemon_sh" "$@"; }
if [ -n "${INPUT_CONTAINERD_ADDRESS:-}" ]; then
	export SLSABOX_CONTAINERD=$INPUT_CONTAINERD_ADDRESS
else
	if daemon status >/dev/null 2>&1; then
		say "using the private containerd already running ($(daemon address))"
	else
		if [ "$runtime" = gvisor ]; then "$daemon_sh" install; fi
		started_containerd=true
		daemon start
	fi
	SLSABOX_CONTAINERD=$(daemon address)
	export SLSABOX_CONTAINERD
	if [ "$runtime" = gvisor ]; then
		SLSABOX_RUNSC=$(daemon env | sed -n 's/^export SLSABOX_RUNSC=//p')
		# printf %q quoted it: the tools' directory never needs quoting, so a quote means
		# something else is there.
		case $SLSABOX_RUNSC in /*[!A-Za-z0-9/._+-]* | "" | [!/]*) fail "gvisor.sh env gave no usable runsc path: \"$SLSABOX_RUNSC\"" "report this; SLSABOX_CACHE must be a plain absolute path" 3 ;; esac
		export SLSABOX_RUNSC
	fi
fi

# git refuses a repository that another user owns (the runner's checkout, read as root).
export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=safe.directory GIT_CONFIG_VALUE_0='*'

say "slsabox ${args[*]}"
rc=0
# The registry token reaches slsabox only (not the containerd started above), as
# GITHUB_TOKEN, which slsabox uses for ghcr.io.
if [ -n "${registry_token:-}" ]; then export GITHUB_TOKEN=$registry_token; fi
as_root "$slsabox" "${args[@]}" >"$tmp/result.json" || rc=$?
unset GITHUB_TOKEN registry_token
if [ "$(id -u)" != 0 ] && [ -e "$out" ]; then as_root chown -R "$(id -u):$(id -g)" "$out"; fi

# A build that signed but could not log (exit 3) still has a bundle to hand on.
# (A build of images only has no file subjects: .subjects is then absent.)
if ! jq -e '.provenance.bundle' "$tmp/result.json" >/dev/null 2>&1; then
	exit "$((rc == 0 ? 1 : rc))"
fi
result=$tmp/result.json
bundle=$(jq -r '.provenance.bundle' "$result")
subjects=$(jq -c '[.outDir as $d | .subjects[]? | {name, path: ($d + "/" + .name), digest: {sha256}, size}]' "$result")
log_index=$(jq -r 'if .provenance.logged then .provenance.logIndex | tostring else "" end' "$result")
set_output bundle "$bundle"
set_output sbom-bundle "$(jq -r '.provenance.sbom.bundle // ""' "$result")"
set_output subjects "$subjects"
set_output log-index "$log_index"
set_output log-url "$(jq -r '.provenance.logUrl // ""' "$result")"
set_output output-dir "$(jq -r '.outDir' "$result")"
set_output signing-mode "$(jq -r --arg mode "$mode" '.provenance.signingMode // $mode' "$result")"
set_output certificate-identity "$(jq -r '.provenance.certificateIdentity // ""' "$result")"
set_output certificate-oidc-issuer "$(jq -r '.provenance.certificateIssuer // ""' "$result")"
# REGISTRY/REPO@sha256:... as pushed; before a push (or when it failed), NAME@sha256:...
set_output images "$(jq -c 'if (.pushed | length) > 0 then [.pushed[].ref] else [.images[]? | .name + "@" + .digest] end' "$result")"
set_output pushed "$(jq -r 'if (.pushed | length) > 0 then "true" else "false" end' "$result")"

if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
	builder_id=$(jq -r '.dsseEnvelope.payload | @base64d | fromjson | .predicate.runDetails.builder.id' "$bundle")
	key_arg=" --key KEY"
	[ "$mode" = key ] || key_arg=""
	jq -r --arg builder "$builder_id" --arg rekor "${INPUT_REKOR_URL:-URL}" --arg keyarg "$key_arg" --arg mode "$mode" \
		--arg fulcio "${INPUT_FULCIO_URL:-https://fulcio.sigstore.dev}" '
		def code: "`" + (tostring | gsub("[`\n]"; "") | gsub("\\|"; "\\|")) + "`";
		"### slsabox: \((.subjects | length) + (.images | length)) subject(s), signed provenance\n",
		"| subject | sha256 | size (bytes) |",
		"|---|---|---:|",
		(.subjects[]? | "| \(.name | code) | \(.sha256 | code) | \(.size) |"),
		(.images[]? | "| \(.name | code) (image) | \(.digest | ltrimstr("sha256:") | code) | |"),
		"",
		"| | |",
		"|---|---|",
		"| bundle | \(.provenance.bundle | code) |",
		(if .provenance.sbom then "| SBOM | \(.provenance.sbom.bundle | code) (\(.provenance.sbom.format))\(if .provenance.sbom.logged then ", log index **\(.provenance.sbom.logIndex)**" else ", **not logged**" end) |" else empty end),
		(if .provenance.logged
		 then "| log entry | index **\(.provenance.logIndex)** in \(.provenance.logUrl | code) |"
		 else "| log entry | **none: not logged**; when the log is back: `slsabox upload --bundle \(.provenance.bundle)\($keyarg) --rekor-url \($rekor)` |" end),
		(if (.provenance.signingMode // $mode) == "keyless"
		 then "| signed | **keyless**, a certificate from \($fulcio | code) |",
		      "| certificate identity | \(.provenance.certificateIdentity // "" | code) |",
		      "| certificate issuer | \(.provenance.certificateIssuer // "" | code) |"
		 else "| signed | with a **key** (signing-key or kms-key) |" end),
		(.pushed[]? | "| image | \(.ref | code), provenance attached as referrer \(.referrer | code) |"),
		"| builder.id | \($builder | code) |",
		"| source | \(.source.commit | code)\(if .source.dirty then " (dirty)" else "" end) |",
		"| builder image | \(.image.manifestDigest | code) |",
		"| build | \(.buildId | code) |",
		""' "$result" >>"$GITHUB_STEP_SUMMARY"
fi
exit "$rc"
