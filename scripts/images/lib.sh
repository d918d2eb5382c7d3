# shellcheck shell=bash
# Helpers shared by the image scripts in this directory; source it, do not run it.
#
# Environment:
#   SLSABOX_CACHE   cache root (default $HOME/.cache/slsabox): verified .debs, built images
#
# Every image is made by internal/cmd/mkimage, whose output depends only on its
# inputs and SOURCE_DATE_EPOCH; the scripts pin SOURCE_DATE_EPOCH themselves so
# a caller's value (e.g. a commit time in CI) does not change image digests.

set -euo pipefail

images_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$images_dir/../.." && pwd)
cache_root=${SLSABOX_CACHE:-$HOME/.cache/slsabox}
script_name=$(basename "$0")

die() {
	printf '%s: error: %s\n' "$script_name" "$1" >&2
	[ $# -lt 2 ] || printf '%s: hint: %s\n' "$script_name" "$2" >&2
	exit 1
}

log() { printf '%s: %s\n' "$script_name" "$*" >&2; }

# need CMD... fails unless every command exists.
need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || die "$c is not installed" "install it (apt-get install -y $c) and run again"
	done
}

# outdir_arg ARGS... checks the single OUTDIR argument, creates it and prints
# it without a trailing slash (the ref line prints the path as given).
outdir_arg() {
	if [ $# -ne 1 ] || [ -z "$1" ]; then die "usage: $script_name OUTDIR"; fi
	mkdir -p "$1" || die "cannot create $1"
	local d=$1
	[ "$d" = / ] || d=${d%/}
	printf '%s\n' "$d"
}

# build_mkimage builds internal/cmd/mkimage into the cache (go build skips
# relinking when the binary is up to date) and prints its path.
build_mkimage() {
	need go
	mkdir -p "$cache_root/bin"
	(cd "$repo_root" && go build -o "$cache_root/bin/mkimage" ./internal/cmd/mkimage) ||
		die "building internal/cmd/mkimage failed" "run 'go build ./internal/cmd/mkimage' in $repo_root to see why"
	printf '%s\n' "$cache_root/bin/mkimage"
}

# build_suidbox OUT builds the setuid probe in suidbox/ reproducibly: static,
# no paths, no VCS stamp, no build id (its bytes depend on the Go version).
build_suidbox() {
	need go
	(cd "$images_dir/suidbox" && CGO_ENABLED=0 GOOS=linux GOARCH=amd64 GOFLAGS='' \
		go build -trimpath -buildvcs=false -ldflags='-s -w -buildid=' -o "$1" .) ||
		die "building scripts/images/suidbox failed"
}

# fetch_deb PKG prints the path of PKG's candidate .deb in the cache, after
# checking its sha256 against the one in apt's signed package lists.
fetch_deb() {
	local pkg=$1 line fname sha dest tmp got
	need apt-get sha256sum
	# One line: 'URL' FILENAME SIZE SHA256:HEX, for the version apt would install.
	line=$(apt-get download --print-uris "$pkg" 2>/dev/null | head -n1) || true
	read -r _ fname _ sha <<<"$line" || true
	case $sha in
	SHA256:[0-9a-f]*) sha=${sha#SHA256:} ;;
	*) die "apt reports no downloadable version of $pkg with a SHA256" "run 'apt-get update' (as root) and check /etc/apt/sources.list*" ;;
	esac
	if [ "${#sha}" -ne 64 ] || [ -z "$fname" ] || [ "$fname" != "$(basename "$fname")" ]; then
		die "cannot parse apt's answer for $pkg: $line"
	fi
	dest="$cache_root/debs/$fname"
	if [ -f "$dest" ] && [ "$(sha256sum <"$dest" | cut -d' ' -f1)" = "$sha" ]; then
		printf '%s\n' "$dest"
		return
	fi
	mkdir -p "$cache_root/debs"
	tmp=$(mktemp -d "$cache_root/debs/.dl-XXXXXX")
	log "downloading $fname"
	# apt-get warns that root downloads unsandboxed; the sha256 check below is what we rely on.
	(cd "$tmp" && apt-get download -q "$pkg" 2>&1 | grep -v 'unsandboxed as root' >&2) || true
	got="$tmp/$fname"
	if [ ! -f "$got" ]; then
		rm -rf "$tmp"
		die "apt-get download $pkg did not produce $fname" "check access to the mirror in /etc/apt/sources.list*"
	fi
	if [ "$(sha256sum <"$got" | cut -d' ' -f1)" != "$sha" ]; then
		rm -rf "$tmp"
		die "$fname does not match the sha256 apt lists ($sha)" "run 'apt-get update' and try again; if it persists, the mirror serves a wrong file"
	fi
	mv "$got" "$dest"
	rm -rf "$tmp"
	printf '%s\n' "$dest"
}

# busybox_rootfs DEB DIR fills DIR with /bin/busybox, a /bin symlink for every
# applet, and /etc/passwd and /etc/group with root and nobody only.
busybox_rootfs() {
	local deb=$1 root=$2 x
	need dpkg-deb
	x=$(mktemp -d "$root.deb-XXXXXX")
	dpkg-deb -x "$deb" "$x"
	[ -x "$x/bin/busybox" ] || die "$deb has no bin/busybox"
	install -d -m 0755 "$root" "$root/bin" "$root/etc"
	install -m 0755 "$x/bin/busybox" "$root/bin/busybox"
	rm -rf "$x"
	local applet n=0
	for applet in $("$root/bin/busybox" --list); do
		case $applet in busybox | suidbox | */*) continue ;; esac
		ln -s busybox "$root/bin/$applet"
		n=$((n + 1))
	done
	[ "$n" -gt 100 ] || die "busybox --list gave only $n applets"
	printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$root/etc/passwd"
	printf '%s\n' 'root:x:0:' 'nobody:x:65534:' >"$root/etc/group"
	chmod 0644 "$root/etc/passwd" "$root/etc/group"
}

# pack_tar DIR OUT.tar packs DIR with root ownership (mkimage sorts and
# normalizes timestamps; --numeric-owner keeps names out).
pack_tar() {
	tar --owner=0 --group=0 --numeric-owner --sort=name --mtime=@0 --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime -C "$1" -cf "$2" .
}
