#!/usr/bin/env bash
# install.sh DESTDIR puts the slsabox binary that the GitHub Action runs into DESTDIR
# and prints its path. How (INPUT_INSTALL):
#   source   go build ./cmd/slsabox from the action's own tree, with the runner's Go;
#   release  the release pinned in scripts/action/release.sha256 for this OS and
#            architecture, downloaded and checked against that sha256;
#   auto     (default) source when the action runs from a checkout inside the
#            workspace (uses: ./) or when no release is pinned for this platform,
#            release otherwise.
# With INPUT_KMS_KEY (a KMS URI), the KMS plugin program its scheme needs,
# sigstore-kms-SCHEME, is put beside slsabox (built, or taken from the same release
# archive): slsabox links no cloud SDK and runs the plugin it finds beside itself.
# SLSABOX_RELEASE_BASE_URL replaces https://github.com/slsabox/slsabox/releases/download
# (a mirror); the URL is BASE/VERSION/slsabox_VERSION_OS_ARCH.tar.gz.
# SLSABOX_RELEASE_CHECKSUMS replaces scripts/action/release.sha256 (tests).
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

if [ $# -ne 1 ] || [ -z "$1" ]; then fail "usage: install.sh DESTDIR"; fi
dest=$1
mode=${INPUT_INSTALL:-auto}
plugin=
if [ -n "${INPUT_KMS_KEY:-}" ]; then
	scheme=${INPUT_KMS_KEY%%://*}
	case $scheme in
	awskms | gcpkms | azurekms | hashivault) plugin=sigstore-kms-$scheme ;;
	*) fail "kms-key must be a KMS URI (awskms://, gcpkms://, azurekms:// or hashivault://); its scheme is \"${scheme:0:32}\"" \
		"name the key as your KMS's URI, e.g. awskms:///alias/release" ;;
	esac
fi
checksums=${SLSABOX_RELEASE_CHECKSUMS:-$action_root/scripts/action/release.sha256}
base_url=${SLSABOX_RELEASE_BASE_URL:-https://github.com/slsabox/slsabox/releases/download}

os=$(uname -s | tr '[:upper:]' '[:lower:]')
case ${RUNNER_ARCH:-$(uname -m)} in
X64 | x86_64 | amd64) arch=amd64 ;;
ARM64 | aarch64 | arm64) arch=arm64 ;;
*) arch=${RUNNER_ARCH:-$(uname -m)} ;;
esac

# pinned prints "SHA256 FILE" of the release pinned for this platform, if any.
pinned() {
	[ -f "$checksums" ] || return 0
	local lines
	lines=$(grep -E "^[0-9a-f]{64}  slsabox_[^/ ]+_${os}_${arch}\.tar\.gz\$" "$checksums" || true)
	if [ "$(grep -c . <<<"$lines")" -gt 1 ]; then
		fail "$checksums pins more than one release for ${os}_$arch" "keep one line per platform"
	fi
	echo "$lines"
}

from_source() {
	local module
	module=$(sed -n 's/^module[[:space:]]\{1,\}//p' "$action_root/go.mod" 2>/dev/null || true)
	[ "$module" = github.com/slsabox/slsabox ] ||
		fail "install: source needs the action's own source tree, but $action_root/go.mod is not slsabox's" \
			"use install: release (or auto) with a commit that pins a release"
	command -v go >/dev/null ||
		fail "install: source builds slsabox with Go, which is not on PATH" \
			"add actions/setup-go (go-version-file: go.mod of the action) before this step, or use a commit that pins a release"
	say "building slsabox from $action_root with $(go version | awk '{print $3}')"
	# 0755 whatever the umask: slsabox runs a KMS plugin only from a directory that
	# nobody else can write.
	install -d -m 0755 "$dest"
	(cd "$action_root" && CGO_ENABLED=0 go build -trimpath -o "$dest/slsabox" ./cmd/slsabox) ||
		fail "go build ./cmd/slsabox failed in $action_root" "see the compiler's output above; the action needs Go >= 1.26.6" 3
	if [ -n "$plugin" ]; then
		say "building the KMS plugin $plugin"
		(cd "$action_root" && CGO_ENABLED=0 go build -trimpath -o "$dest/$plugin" "./cmd/$plugin") ||
			fail "go build ./cmd/$plugin failed in $action_root" "see the compiler's output above" 3
		chmod 0755 "$dest/$plugin"
	fi
}

from_release() {
	local line=$1 sum file version url tmp got
	sum=${line%% *}
	file=${line##* }
	version=${file#slsabox_}
	version=${version%"_${os}_${arch}.tar.gz"}
	url=$base_url/$version/$file
	tmp=$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/slsabox-release.XXXXXX")
	# shellcheck disable=SC2064 # expand now: tmp is local
	trap "rm -rf '$tmp'" EXIT
	say "downloading slsabox $version ($url)"
	curl -fsSL --retry 3 --retry-delay 2 --proto '=https,http' -o "$tmp/$file" "$url" ||
		fail "could not download $url" "check the network; SLSABOX_RELEASE_BASE_URL points at a mirror" 3
	got=$(sha256sum "$tmp/$file" | awk '{print $1}')
	[ "$got" = "$sum" ] ||
		fail "$file has sha256 $got, but the action pins $sum: refusing to run it" \
			"the download was changed or corrupted; do not override this, report it" 1
	tar -xzf "$tmp/$file" -C "$tmp" slsabox ||
		fail "$file holds no slsabox binary at its top" "the release archive is malformed; report it" 1
	if [ ! -f "$tmp/slsabox" ] || [ -L "$tmp/slsabox" ]; then
		fail "$file: slsabox is not a regular file" "the release archive is malformed; report it" 1
	fi
	if [ -n "$plugin" ]; then
		tar -xzf "$tmp/$file" -C "$tmp" "$plugin" ||
			fail "$file holds no $plugin, the KMS plugin that kms-key needs" "use install: source, or a release that ships the plugin" 1
		if [ ! -f "$tmp/$plugin" ] || [ -L "$tmp/$plugin" ]; then
			fail "$file: $plugin is not a regular file" "the release archive is malformed; report it" 1
		fi
	fi
	install -d -m 0755 "$dest"
	install -m 0755 "$tmp/slsabox" "$dest/slsabox"
	if [ -n "$plugin" ]; then install -m 0755 "$tmp/$plugin" "$dest/$plugin"; fi
	say "slsabox $version installed, archive sha256 $got (pinned)"
}

pin=$(pinned)
case $mode in
source) from_source ;;
release)
	[ -n "$pin" ] || fail "install: release, but $checksums pins no release for ${os}_$arch" \
		"use install: source (needs Go), or a commit of the action that pins a release for this platform"
	from_release "$pin"
	;;
auto)
	workspace=
	if [ -n "${GITHUB_WORKSPACE:-}" ] && [ -d "$GITHUB_WORKSPACE" ]; then workspace=$(cd "$GITHUB_WORKSPACE" && pwd -P); fi
	here=$(cd "$action_root" && pwd -P)
	if [ -z "$pin" ] || { [ -n "$workspace" ] && [[ $here/ == "$workspace"/* ]]; }; then
		from_source
	else
		from_release "$pin"
	fi
	;;
*) fail "input install must be auto, source or release, not \"$mode\"" "leave it out for auto" ;;
esac
"$dest/slsabox" version >&2 || fail "$dest/slsabox does not run on this runner" "check the runner's OS and architecture (${os}_$arch)" 3
echo "$dest/slsabox"
