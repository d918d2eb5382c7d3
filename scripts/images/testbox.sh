#!/usr/bin/env bash
# testbox.sh OUTDIR writes OUTDIR/testbox.tar, the OCI archive of
# slsabox.test/testbox:1, and prints its oci-archive:...@sha256:... reference.
#
# A tiny image for the sandbox tests: /bin/toolbox, built from toolbox/ (sh
# from mvdan.cc/sh and small applets), with a /bin symlink per applet;
# /bin/suidbox, setuid root, built from suidbox/ (`/bin/suidbox id -u` prints
# 0 if the setuid bit raised privileges, the caller's uid if no-new-privileges
# stopped it); /etc/passwd and /etc/group with root and nobody; the sandbox
# mountpoints; PATH=/bin.
# Everything is built from Go modules with the pinned Go (lib.sh), so the image
# has the same bytes on any machine and any later day.
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

outdir=$(outdir_arg "$@")
work=$(mktemp -d "${TMPDIR:-/tmp}/testbox-XXXXXX")
trap 'rm -rf "$work"' EXIT
mkimage=$(build_mkimage)

toolbox_rootfs "$work/root"
# A probe of its own rather than a setuid toolbox: the probe does nothing but
# report its ids, so the test reads exactly what the kernel granted.
build_suidbox "$work/suidbox"
install -m 4755 "$work/suidbox" "$work/root/bin/suidbox"
pack_tar "$work/root" "$work/rootfs.tar"

SOURCE_DATE_EPOCH=0 "$mkimage" -o "$outdir/testbox.tar" \
	--ref slsabox.test/testbox:1 --env PATH=/bin --mountpoints "$work/rootfs.tar"
