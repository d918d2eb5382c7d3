#!/usr/bin/env bash
# go-toolchain.sh OUTDIR writes OUTDIR/go-toolchain.tar, the OCI archive of
# slsabox.local/go-toolchain:1.26.8, and prints its oci-archive:...@sha256:...
# reference.
#
# Layers: Debian's busybox-static (as in testbox.sh, without the setuid probe),
# then Go 1.26.8 in /usr/local/go, fetched through the Go module proxy as the
# module golang.org/toolchain (verified by the checksum database and by the h1:
# hash pinned below), then the sandbox mountpoints.
# Env: PATH=/usr/local/go/bin:/bin GOTOOLCHAIN=local CGO_ENABLED=0.
# Reruns give identical bytes; downloads are cached (.deb in
# ${SLSABOX_CACHE:-$HOME/.cache/slsabox}/debs, the module in GOMODCACHE).
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

go_version=1.26.8
toolchain_mod=golang.org/toolchain@v0.0.1-go$go_version.linux-amd64
# From sum.golang.org; change it together with go_version.
toolchain_sum=h1:ZOmGe1OnfREDMIdb1Qi4G9JSuDPBLGExZMQ4nis1RXM=

outdir=$(outdir_arg "$@")
need go unzip
deb=$(fetch_deb busybox-static)
work=$(mktemp -d "${TMPDIR:-/tmp}/go-toolchain-XXXXXX")
trap 'rm -rf "$work"' EXIT
mkimage=$(build_mkimage)

busybox_rootfs "$deb" "$work/root"
pack_tar "$work/root" "$work/busybox.tar"

# A throwaway module, so that no go.mod or go.sum of the caller changes. GOFLAGS
# and GONOSUMDB & co. are cleared: nothing may turn off the checksum database.
mkdir "$work/mod"
printf 'module fetch\n\ngo 1.26\n' >"$work/mod/go.mod"
info=$(cd "$work/mod" && env -u GOFLAGS -u GONOSUMDB -u GONOSUMCHECK -u GOPRIVATE -u GOINSECURE \
	GOSUMDB="${GOSUMDB:-sum.golang.org}" go mod download -json "$toolchain_mod") ||
	die "go mod download $toolchain_mod failed: $info" "check GOPROXY ($(go env GOPROXY)) and that the proxy is reachable"
json_field() { sed -n "s/^[[:space:]]*\"$1\": \"\\(.*\\)\",\\{0,1\\}\$/\\1/p" <<<"$info"; }
zip=$(json_field Zip)
sum=$(json_field Sum)
[ "$sum" = "$toolchain_sum" ] ||
	die "$toolchain_mod has hash $sum, want $toolchain_sum" "if you changed go_version, update toolchain_sum from sum.golang.org; otherwise your module cache or proxy is corrupt (go clean -modcache)"
[ -f "$zip" ] || die "go mod download reported no zip for $toolchain_mod"

unzip -q "$zip" -d "$work/zip"
mkdir -p "$work/tree/usr/local"
mv "$work/zip/$toolchain_mod" "$work/tree/usr/local/go"
# Modes do not depend on umask or unzip: directories 0755, files 0644, or 0755
# when the zip marks them executable. bin/ and pkg/tool/ must be executable
# even if a proxy's zip dropped the modes.
find "$work/tree" -type d -exec chmod 0755 {} +
find "$work/tree" -type f \( -perm /0111 -o -path '*/usr/local/go/bin/*' -o -path '*/usr/local/go/pkg/tool/*' \) -exec chmod 0755 {} +
find "$work/tree" -type f ! -perm /0111 -exec chmod 0644 {} +
if [ ! -x "$work/tree/usr/local/go/bin/go" ] || [ ! -x "$work/tree/usr/local/go/pkg/tool/linux_amd64/compile" ]; then
	die "the toolchain zip lacks bin/go or pkg/tool/linux_amd64/compile"
fi
[ "$(head -n1 "$work/tree/usr/local/go/VERSION")" = "go$go_version" ] ||
	die "the toolchain zip is not go$go_version"

SOURCE_DATE_EPOCH=0 "$mkimage" -o "$outdir/go-toolchain.tar" \
	--ref "slsabox.local/go-toolchain:$go_version" \
	--env PATH=/usr/local/go/bin:/bin --env GOTOOLCHAIN=local --env CGO_ENABLED=0 \
	--mountpoints "$work/busybox.tar" "$work/tree"
