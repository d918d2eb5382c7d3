#!/usr/bin/env bash
# debian-c.sh OUTDIR writes OUTDIR/debian-c.tar, the OCI archive of
# slsabox.local/debian-c:12 (Debian bookworm with build-essential and make),
# and prints its oci-archive:...@sha256:... reference.
#
# The rootfs is made by mmdebstrap from the machine's own Debian mirror, with
# SOURCE_DATE_EPOCH fixed, so two runs against the same archive state give the
# same bytes. The result is cached under ${SLSABOX_CACHE:-$HOME/.cache/slsabox}/images,
# keyed by this script, the package list, the apt sources, the epoch and
# mkimage's sources: a security update in the archive does not change the
# image until the key changes or SLSABOX_REBUILD=1 is set.
#
# Environment:
#   SLSABOX_DEBIAN_MIRROR           mirror for bookworm and bookworm-updates
#                                   (default: the URI apt uses here for bookworm)
#   SLSABOX_DEBIAN_SECURITY_MIRROR  mirror for bookworm-security (default: apt's,
#                                   none if apt has none)
#   SLSABOX_DEBIAN_EPOCH            SOURCE_DATE_EPOCH of the image (default: the
#                                   bookworm release, 2023-06-10)
#   SLSABOX_REBUILD=1               ignore the cache
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

suite=bookworm
packages=build-essential,make
ref=slsabox.local/debian-c:12
epoch=${SLSABOX_DEBIAN_EPOCH:-1686355200}

# apt_uri SUITE prints the first URI of an enabled "deb" source for SUITE in
# /etc/apt/sources.list* (one-line .list and deb822 .sources files).
apt_uri() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		awk -v s="$1" '
			$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
			              if ($(i+1) == s) { print $i; exit } }' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk -v s="$1" '
			function flush() { if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " s " ") && enabled != "no" && uri != "") { print uri; found = 1 }
			                   types = suites = uri = enabled = "" }
			/^[ \t]*$/ { flush(); if (found) exit; next }
			/^#/ { next }
			tolower($1) == "types:"   { $1 = ""; types = substr($0, 2) }
			tolower($1) == "suites:"  { $1 = ""; suites = substr($0, 2) }
			tolower($1) == "uris:"    { uri = $2 }
			tolower($1) == "enabled:" { enabled = tolower($2) }
			END { if (!found) flush() }' "$f"
	done | head -n1
}

outdir=$(outdir_arg "$@")
case $epoch in '' | *[!0-9]*) die "SLSABOX_DEBIAN_EPOCH=$epoch is not a number of seconds" ;; esac
mirror=${SLSABOX_DEBIAN_MIRROR:-$(apt_uri "$suite")}
[ -n "$mirror" ] || die "found no apt source for $suite in /etc/apt/sources.list*" "set SLSABOX_DEBIAN_MIRROR to a Debian mirror URL"
security=${SLSABOX_DEBIAN_SECURITY_MIRROR:-$(apt_uri "$suite-security")}
sources="deb $mirror $suite main
deb $mirror $suite-updates main"
if [ -n "$security" ]; then
	sources+="
deb $security $suite-security main"
else
	say "warning: no $suite-security source; the image gets no security updates (set SLSABOX_DEBIAN_SECURITY_MIRROR)"
fi

mkimage=$(build_mkimage)
key=$({
	cat "$0" "$images_dir/lib.sh"
	printf '%s\n' "$suite" "$packages" "$ref" "$epoch" "$sources"
	find "$repo_root/internal/cmd/mkimage" "$repo_root/internal/ociarchive" -name '*.go' ! -name '*_test.go' |
		LC_ALL=C sort | xargs cat
	go version
} | sha256sum | cut -c1-16)
cached="$cache_root/images/debian-c-$key.tar"
out="$outdir/debian-c.tar"

if [ "${SLSABOX_REBUILD:-0}" != 1 ] && [ -f "$cached" ] && [ -f "$cached.digest" ]; then
	say "using the cached image $cached"
	tmp=$(mktemp "$outdir/.debian-c.tar.XXXXXX")
	cp "$cached" "$tmp" && chmod 0644 "$tmp" && mv "$tmp" "$out"
	printf 'oci-archive:%s@%s\n' "$out" "$(cat "$cached.digest")"
	exit 0
fi

# shellcheck source=SCRIPTDIR/../lib/apt.sh
source "$images_dir/../lib/apt.sh"
apt_ensure mmdebstrap mmtarfilter:mmdebstrap || exit 1
work=$(mktemp -d "${TMPDIR:-/tmp}/debian-c-XXXXXX")
trap 'rm -rf "$work"' EXIT
say "building $ref with mmdebstrap (a few minutes)"
# mmdebstrap removes logs, apt lists and caches, ldconfig's aux-cache and the
# machine id when SOURCE_DATE_EPOCH is set; the hooks drop what it copies from
# the host. /dev is the runtime's business, so no device nodes go in the layer.
# Downloaded .debs are kept in $debs for the next build (apt checks their
# hashes against the signed lists before it uses them).
debs="$cache_root/debian-debs"
mkdir -p "$debs"
# shellcheck disable=SC2016 # "$1" is expanded by mmdebstrap: the chroot
SOURCE_DATE_EPOCH=$epoch TMPDIR=$work mmdebstrap --quiet --variant=apt --include="$packages" \
	--skip=essential/unlink \
	--setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
	--setup-hook="sync-in '$debs' /var/cache/apt/archives/" \
	--customize-hook="sync-out /var/cache/apt/archives '$debs'" \
	--customize-hook='rm -f "$1/etc/resolv.conf" "$1/etc/hostname"' \
	--customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/cache/debconf/*-old "$1"/var/lib/dpkg/*-old' \
	"$suite" "$work/mmdebstrap.tar" - <<<"$sources" ||
	die "mmdebstrap failed" "check the mirror ($mirror) and run again; SLSABOX_DEBIAN_MIRROR overrides it"
mmtarfilter --path-exclude='/dev/*' <"$work/mmdebstrap.tar" >"$work/rootfs.tar"
rm -f "$work/mmdebstrap.tar"

line=$(SOURCE_DATE_EPOCH=$epoch "$mkimage" -o "$out" --ref "$ref" \
	--env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	--mountpoints "$work/rootfs.tar")
digest=${line##*@}
mkdir -p "$cache_root/images"
tmp=$(mktemp "$cache_root/images/.debian-c-XXXXXX")
cp "$out" "$tmp" && chmod 0644 "$tmp" && mv "$tmp" "$cached" && printf '%s\n' "$digest" >"$cached.digest"
printf '%s\n' "$line"
