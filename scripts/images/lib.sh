# shellcheck shell=bash
# Helpers shared by the image scripts in this directory; source it, do not run it.
#
# Environment:
#   SLSABOX_CACHE   cache root (default $HOME/.cache/slsabox): the unpacked Go
#                   toolchain, mkimage, built images
#
# Every image is made by internal/cmd/mkimage, whose output depends only on its
# inputs and SOURCE_DATE_EPOCH; the scripts pin SOURCE_DATE_EPOCH themselves so
# a caller's value (e.g. a commit time in CI) does not change image digests.
# Binaries are built with the Go release pinned below, fetched as a module
# through the Go module proxy, never with the host's Go.

set -euo pipefail

images_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$images_dir/../.." && pwd)
cache_root=${SLSABOX_CACHE:-$HOME/.cache/slsabox}
script_name=$(basename "$0")
# say and die: messages that start with the script's name.
# shellcheck source=SCRIPTDIR/../lib/say.sh
source "$images_dir/../lib/say.sh"

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

# The Go release that builds every binary of the images (toolbox, suidbox,
# mkimage) and that go-toolchain.sh puts into its image: the module
# golang.org/toolchain from the Go module proxy, checked by the checksum
# database and by the h1: hash pinned here, so that the images do not depend
# on the host's Go. Change toolchain_sum (from sum.golang.org) with go_version.
go_version=1.26.8
toolchain_mod=golang.org/toolchain@v0.0.1-go$go_version.linux-amd64
toolchain_sum=h1:ZOmGe1OnfREDMIdb1Qi4G9JSuDPBLGExZMQ4nis1RXM=

# sumdb prints the checksum database to use: $GOSUMDB or sum.golang.org,
# never off (nothing may turn off the check of what the proxy serves).
sumdb() {
	local db=${GOSUMDB:-sum.golang.org}
	[ "$db" != off ] || die "GOSUMDB=off would skip the checksum database" "unset GOSUMDB; the image scripts only use modules checked by it"
	printf '%s\n' "$db"
}

# toolchain_zip prints the path of the module zip of $toolchain_mod in the
# host's module cache, downloaded by the host's go (any version) and checked
# against the checksum database and $toolchain_sum.
toolchain_zip() {
	local work info zip sum db
	need go
	db=$(sumdb)
	work=$(mktemp -d "${TMPDIR:-/tmp}/toolchain-XXXXXX")
	# A throwaway module, so that no go.mod or go.sum of the caller changes.
	# GOFLAGS and GONOSUMDB & co. are cleared: nothing may turn off the
	# checksum database.
	printf 'module fetch\n\ngo 1.26\n' >"$work/go.mod"
	info=$(cd "$work" && env -u GOFLAGS -u GONOSUMDB -u GONOSUMCHECK -u GOPRIVATE -u GOINSECURE \
		GOSUMDB="$db" go mod download -json "$toolchain_mod") || {
		rm -rf "$work"
		die "go mod download $toolchain_mod failed: $info" "check GOPROXY ($(go env GOPROXY)) and that the proxy is reachable"
	}
	rm -rf "$work"
	zip=$(sed -n 's/^[[:space:]]*"Zip": "\(.*\)",\{0,1\}$/\1/p' <<<"$info")
	sum=$(sed -n 's/^[[:space:]]*"Sum": "\(.*\)",\{0,1\}$/\1/p' <<<"$info")
	[ "$sum" = "$toolchain_sum" ] ||
		die "$toolchain_mod has hash $sum, want $toolchain_sum" "if you changed go_version, update toolchain_sum from sum.golang.org; otherwise your module cache or proxy is corrupt (go clean -modcache)"
	[ -f "$zip" ] || die "go mod download reported no zip for $toolchain_mod"
	printf '%s\n' "$zip"
}

# unpack_toolchain ZIP DIR unzips the toolchain module into DIR (which must
# not exist) with fixed modes: directories 0755, files 0644, or 0755 when the
# zip marks them executable; bin/ and pkg/tool/ are executable even if a
# proxy's zip dropped the modes.
unpack_toolchain() {
	local zip=$1 dir=$2 x
	need unzip
	x=$(mktemp -d "$dir.unzip-XXXXXX")
	unzip -q "$zip" -d "$x"
	mv "$x/$toolchain_mod" "$dir"
	rm -rf "$x"
	find "$dir" -type d -exec chmod 0755 {} +
	find "$dir" -type f \( -perm /0111 -o -path "$dir/bin/*" -o -path "$dir/pkg/tool/*" \) -exec chmod 0755 {} +
	find "$dir" -type f ! -perm /0111 -exec chmod 0644 {} +
	if [ ! -x "$dir/bin/go" ] || [ ! -x "$dir/pkg/tool/linux_amd64/compile" ]; then
		die "the toolchain zip lacks bin/go or pkg/tool/linux_amd64/compile"
	fi
	[ "$(head -n1 "$dir/VERSION")" = "go$go_version" ] || die "the toolchain zip is not go$go_version"
}

# go_toolchain unpacks Go $go_version once into $cache_root/go$go_version
# and prints the path of its go binary.
go_toolchain() {
	local dir="$cache_root/go$go_version" tmp
	if [ ! -f "$dir/.slsabox-unpacked" ]; then
		mkdir -p "$cache_root"
		tmp=$(mktemp -d "$cache_root/.go-XXXXXX")
		local zip
		zip=$(toolchain_zip) || exit 1 # die in a command substitution ends only the subshell
		unpack_toolchain "$zip" "$tmp/go"
		printf '%s\n' "$toolchain_sum" >"$tmp/go/.slsabox-unpacked"
		# A directory without the marker is an unfinished copy; another
		# script that unpacked it meanwhile wins.
		if [ -e "$dir" ] && [ ! -f "$dir/.slsabox-unpacked" ]; then rm -rf "$dir"; fi
		mv -T "$tmp/go" "$dir" 2>/dev/null || [ -f "$dir/.slsabox-unpacked" ] || die "cannot move the unpacked toolchain to $dir"
		rm -rf "$tmp"
	fi
	printf '%s\n' "$dir/bin/go"
}

# pinned_go_build DIR OUT [PKG] builds PKG (default .) of the module in DIR
# into OUT with Go $go_version, reproducibly: static, no paths, no VCS stamp,
# no build id, baseline amd64. Modules come from the proxy and are checked
# against go.sum (-mod=readonly) and the checksum database; GOENV=off keeps a
# user's go env file (which may set GOFLAGS or GONOSUMDB) out, the host's
# proxy and module cache are passed on.
pinned_go_build() {
	local dir=$1 out=$2 pkg=${3:-.} gobin proxy modcache gocache db
	need go
	gobin=$(go_toolchain)
	db=$(sumdb)
	proxy=$(go env GOPROXY)
	modcache=$(go env GOMODCACHE)
	gocache=$(go env GOCACHE)
	(cd "$dir" && env -u GOFLAGS -u GONOSUMDB -u GONOSUMCHECK -u GOPRIVATE -u GOINSECURE -u GONOPROXY -u GOROOT -u GOPATH \
		GOENV=off GOTOOLCHAIN=local GOFLAGS=-mod=readonly GOPROXY="$proxy" GOSUMDB="$db" \
		GOMODCACHE="$modcache" GOCACHE="$gocache" CGO_ENABLED=0 GOOS=linux GOARCH=amd64 GOAMD64=v1 \
		"$gobin" build -trimpath -buildvcs=false -ldflags='-s -w -buildid=' -o "$out" "$pkg") ||
		die "building $pkg in $dir with go$go_version failed" "run the same in $dir to see why; a missing go.sum line means the module's go.sum needs 'go mod tidy'"
}

# build_mkimage builds internal/cmd/mkimage into the cache with the pinned
# Go (its gzip output, and so the layer digests, must not follow the host's
# Go) and prints its path.
build_mkimage() {
	mkdir -p "$cache_root/bin"
	pinned_go_build "$repo_root" "$cache_root/bin/mkimage" ./internal/cmd/mkimage
	printf '%s\n' "$cache_root/bin/mkimage"
}

# build_suidbox OUT builds the setuid probe in suidbox/.
build_suidbox() { pinned_go_build "$images_dir/suidbox" "$1"; }

# toolbox_rootfs DIR fills DIR with /bin/toolbox (built from toolbox/), a
# /bin symlink for every applet, and /etc/passwd and /etc/group with root
# and nobody only.
toolbox_rootfs() {
	local root=$1 applet n=0
	install -d -m 0755 "$root" "$root/bin" "$root/etc"
	pinned_go_build "$images_dir/toolbox" "$root/bin/toolbox"
	chmod 0755 "$root/bin/toolbox"
	for applet in $("$root/bin/toolbox" --list); do
		case $applet in toolbox | suidbox | */*) continue ;; esac
		ln -s toolbox "$root/bin/$applet"
		n=$((n + 1))
	done
	[ "$n" -gt 20 ] || die "toolbox --list gave only $n applets"
	printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$root/etc/passwd"
	printf '%s\n' 'root:x:0:' 'nobody:x:65534:' >"$root/etc/group"
	chmod 0644 "$root/etc/passwd" "$root/etc/group"
}

# pack_tar DIR OUT.tar packs DIR with root ownership (mkimage sorts and
# normalizes timestamps; --numeric-owner keeps names out).
pack_tar() {
	tar --owner=0 --group=0 --numeric-owner --sort=name --mtime=@0 --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime -C "$1" -cf "$2" .
}
