#!/usr/bin/env bash
# pin.sh REF FILE... re-pins build definitions to an image that an image script just
# built: in each FILE, every `image: oci-archive:.../NAME.tar@sha256:...` line whose
# archive has REF's file name gets REF's digest. REF is what the image scripts print,
# oci-archive:PATH/NAME.tar@sha256:HEX. Prints what changed.
#
# For images from a moving archive (debian-c.sh: Debian's packages change with every
# point release and security update), the digest built on a fresh machine differs
# from the one committed:
#   scripts/images/pin.sh "$(scripts/images/debian-c.sh .cache/images)" examples/c-make/slsabox.yaml
# The Go-only images (go-toolchain, testbox) are the same bytes everywhere and never
# need this.
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

[ $# -ge 2 ] || die "usage: $script_name REF FILE..." "REF is the line an image script prints, oci-archive:PATH@sha256:HEX"
ref=$1
shift
case $ref in
oci-archive:*@sha256:*) ;;
*) die "$ref is not an oci-archive:PATH@sha256:HEX reference" "pass the line the image script printed" ;;
esac
digest=${ref##*@}
archive=${ref%@*}
name=$(basename "${archive#oci-archive:}")
[[ $digest =~ ^sha256:[0-9a-f]{64}$ ]] || die "$digest is not a sha256 digest"
for f in "$@"; do
	[ -f "$f" ] || die "$f does not exist"
	tmp=$(mktemp "$f.XXXXXX")
	sed -E "s#^(image:[[:space:]]*oci-archive:([^@[:space:]]*/)?${name//./\\.})@sha256:[0-9a-f]{64}#\\1@$digest#" "$f" >"$tmp"
	if cmp -s "$f" "$tmp"; then
		rm -f "$tmp"
		grep -qE "^image:[[:space:]]*oci-archive:([^@[:space:]]*/)?${name//./\\.}@$digest" "$f" ||
			die "$f has no image: line for $name" "pin.sh re-pins only oci-archive images named $name"
		say "$f already pins $digest"
		continue
	fi
	chmod --reference="$f" "$tmp"
	mv "$tmp" "$f"
	say "$f now pins $name@$digest"
done
