#!/usr/bin/env bash
# go-toolchain.sh OUTDIR writes OUTDIR/go-toolchain.tar, the OCI archive of
# slsabox.local/go-toolchain:1.26.8, and prints its oci-archive:...@sha256:...
# reference.
#
# Layers: the toolbox (as in testbox.sh, without the setuid probe), then Go
# 1.26.8 in /usr/local/go, fetched through the Go module proxy as the module
# golang.org/toolchain (verified by the checksum database and by the h1: hash
# pinned in lib.sh), then the sandbox mountpoints.
# Env: PATH=/usr/local/go/bin:/bin GOTOOLCHAIN=local CGO_ENABLED=0.
# Only Go modules go in, so the image has the same bytes on any machine and
# any later day; downloads are cached in GOMODCACHE.
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

outdir=$(outdir_arg "$@")
work=$(mktemp -d "${TMPDIR:-/tmp}/go-toolchain-XXXXXX")
trap 'rm -rf "$work"' EXIT
mkimage=$(build_mkimage)

toolbox_rootfs "$work/root"
pack_tar "$work/root" "$work/toolbox.tar"

install -d -m 0755 "$work/tree" "$work/tree/usr" "$work/tree/usr/local"
zip=$(toolchain_zip) || exit 1 # die in a command substitution ends only the subshell
unpack_toolchain "$zip" "$work/tree/usr/local/go"

SOURCE_DATE_EPOCH=0 "$mkimage" -o "$outdir/go-toolchain.tar" \
	--ref "slsabox.local/go-toolchain:$go_version" \
	--env PATH=/usr/local/go/bin:/bin --env GOTOOLCHAIN=local --env CGO_ENABLED=0 \
	--mountpoints "$work/toolbox.tar" "$work/tree"
