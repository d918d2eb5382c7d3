#!/usr/bin/env bash
# testbox.sh OUTDIR writes OUTDIR/testbox.tar, the OCI archive of
# slsabox.test/testbox:1, and prints its oci-archive:...@sha256:... reference.
#
# A tiny image for the sandbox tests: Debian's busybox-static as /bin/busybox
# with a /bin symlink per applet; /bin/suidbox, setuid root, built from
# suidbox/ (`/bin/suidbox id -u` prints 0 if the setuid bit raised privileges,
# the caller's uid if no-new-privileges stopped it); /etc/passwd and
# /etc/group with root and nobody; the sandbox mountpoints; PATH=/bin.
# The .deb is checked against apt's sha256 and cached under
# ${SLSABOX_CACHE:-$HOME/.cache/slsabox}/debs; reruns give identical bytes.
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

outdir=$(outdir_arg "$@")
deb=$(fetch_deb busybox-static)
work=$(mktemp -d "${TMPDIR:-/tmp}/testbox-XXXXXX")
trap 'rm -rf "$work"' EXIT
mkimage=$(build_mkimage)

busybox_rootfs "$deb" "$work/root"
# Not a setuid copy of busybox: busybox picks its applet from argv[0] and drops
# setuid privileges before `id` runs, so it could never show an escalation.
build_suidbox "$work/suidbox"
install -m 4755 "$work/suidbox" "$work/root/bin/suidbox"
pack_tar "$work/root" "$work/rootfs.tar"

SOURCE_DATE_EPOCH=0 "$mkimage" -o "$outdir/testbox.tar" \
	--ref slsabox.test/testbox:1 --env PATH=/bin --mountpoints "$work/rootfs.tar"
