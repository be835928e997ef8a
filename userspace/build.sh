#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
#
# Build the rxe verbs provider (librxe-rdmav34.so) with userspace/patches/
# applied: Debian 13's provider has no reg_dmabuf_mr, so ibv_reg_dmabuf_mr()
# fails with EOPNOTSUPP before it reaches our module.  Also two pyverbs
# extensions: dmabuf, whose DmaBuf allocates from amdgpu and i915 only in
# Debian's build and from any driver with dumb buffers, vgem in the guest,
# in ours, and mr, whose DmaBufMR cannot take a DmaBuf in Debian's build:
# rdma-core's dma-buf tests then run instead of skipping.
#
#   userspace/build.sh
#
# The source is Debian's rdma-core source package of the version installed
# in the root, fetched once with the root's apt (a private deb-src list, the
# root's own sources are untouched) and built inside the root with cmake.
# The download, the patched source and the cmake tree live in
# $RXE_ODP_CACHE/rdma-core (bind-mounted at /mnt/rdma-core in the root); a
# change to the patches starts over from the tarballs.  Only the provider
# and the two extension targets (and the libraries they link against)
# are compiled.  The results, build/userspace/librxe-rdmav34.so,
# dmabuf.cpython-*.so and mr.cpython-*.so, are what scripts/guest-init.sh
# installs over Debian's in the guest.  The two extensions replace those of
# python3-pyverbs among Debian's others: they are built from the same
# source, pyverbs 56.1, with the same Cython (3.0.11) and Python (3.13) as
# Debian's, and the patches change no .pxd, so the C-level interfaces the
# pyverbs modules cimport from one another (object layouts, vtables,
# exported cdef functions) are the same.
set -euo pipefail
. "$(dirname "$0")/../scripts/common.sh"

if [ ! -x "$ROOT/usr/bin/cmake" ] || [ ! -x "$ROOT/usr/bin/cython3" ] ||
	! ls "$ROOT"/usr/include/python3*/Python.h >/dev/null 2>&1; then
	die "no cmake, cython3 or python3-dev in $ROOT; run scripts/mkroot.sh"
fi

# One build at a time (the root is shared, and so is build/).
exec 8> "$RXE_ODP_CACHE/build.lock"
flock 8

cache=$RXE_ODP_CACHE/rdma-core
in_root() { chroot "$ROOT" env LC_ALL=C "$@"; }
# Run quietly; on failure show the end of the output.
quiet() {
	"$@" > "$cache/last.log" 2>&1 ||
		{ tail -40 "$cache/last.log" >&2; die "failed: $*"; }
}
# shellcheck disable=SC2016
ver=$(in_root dpkg-query -W -f='${Version}' rdma-core) ||
	die "rdma-core is not installed in $ROOT"
mnt=$ROOT/mnt/rdma-core
src=$cache/src-$ver
obj=$cache/obj-$ver
dl=$cache/dl-$ver
mkdir -p "$cache" "$mnt"
if ! mountpoint -q "$mnt"; then
	mount --bind "$cache" "$mnt"
	trap 'umount "$mnt"' EXIT
fi

# 1. The source package, checked against the hashes of Debian's signed
#    Sources index.  Not with apt-get source: it also wants the .dsc,
#    which we do not need.
if [ ! -f "$dl/.done" ]; then
	log "fetching rdma-core $ver source"
	apt=$cache/apt
	rm -rf "$apt" "$dl"
	mkdir -p "$apt/lists/partial" "$apt/cache" "$apt/parts" "$dl"
	sed -n 's/^deb /deb-src /p' "$ROOT/etc/apt/sources.list" > "$apt/sources.list"
	cat > "$apt/apt.conf" <<-EOF
	Dir::Etc::SourceList "/mnt/rdma-core/apt/sources.list";
	Dir::Etc::SourceParts "/mnt/rdma-core/apt/parts";
	Dir::State::Lists "/mnt/rdma-core/apt/lists";
	Dir::Cache "/mnt/rdma-core/apt/cache";
	APT::Sandbox::User "root";
	EOF
	aptc() { in_root env APT_CONFIG=/mnt/rdma-core/apt/apt.conf "$@"; }
	quiet aptc apt-get -q update
	# Lines: 'URI' NAME SIZE SHA256:HASH
	uris=$(aptc apt-get -q source --print-uris "rdma-core=$ver" | grep "^'") ||
		die "no source package rdma-core=$ver in $(cat "$apt/sources.list")"
	echo "$uris" | while read -r uri name _ hash; do
		case $name in *.dsc) continue ;; esac
		quiet aptc /usr/lib/apt/apt-helper download-file "${uri//\'/}" \
			"/mnt/rdma-core/dl-$ver/$name" "$hash"
	done
	ls "$dl"/*.orig.tar.* "$dl"/*.debian.tar.* >/dev/null ||
		die "rdma-core $ver: no orig or debian tarball"
	rm -rf "$apt"
	touch "$dl/.done"
fi

# 2. Unpack, Debian's patches then ours, both without fuzz.  The stamp
#    names the patches and the configuration; any change starts over
#    (cmake tree included).  Debian's hardening flags; no RUNPATH to the
#    build tree.
patches=$(ls "$TOP"/userspace/patches/*.patch)
config="-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr
-DCMAKE_SKIP_BUILD_RPATH=ON -DNO_MAN_PAGES=1 -DENABLE_STATIC=0
-DPYTHON_EXECUTABLE:PATH=/usr/bin/python3"
cflags="-fstack-protector-strong -fstack-clash-protection -fcf-protection"
cflags="$cflags -D_FORTIFY_SOURCE=2"
ldflags="-Wl,-z,relro -Wl,-z,now"
# shellcheck disable=SC2086
want=$( (cat $patches; echo "$config $cflags $ldflags") | sha1sum | cut -c1-12)
if [ "$(cat "$src/.rxe-odp-stamp" 2>/dev/null)" != "$want" ]; then
	log "unpacking rdma-core $ver and applying userspace/patches"
	rm -rf "$src" "$obj"
	mkdir -p "$src"
	tar -C "$src" --strip-components=1 -xf "$dl"/*.orig.tar.*
	tar -C "$src" -xf "$dl"/*.debian.tar.*
	if [ -f "$src/debian/patches/series" ]; then
		grep -v -e '^#' -e '^[[:space:]]*$' "$src/debian/patches/series" |
		while read -r p _; do
			patch -d "$src" -p1 -s --fuzz=0 -N < "$src/debian/patches/$p" ||
				die "Debian patch $p does not apply"
		done
	fi
	for p in $patches; do
		patch -d "$src" -p1 -s --fuzz=0 -N < "$p" ||
			die "$(basename "$p") does not apply to rdma-core $ver"
	done
	echo "$want" > "$src/.rxe-odp-stamp"
fi

# 3. Configure once, then build the provider and the two extensions.
if [ ! -f "$obj/CMakeCache.txt" ]; then
	log "configuring rdma-core $ver"
	# shellcheck disable=SC2086
	quiet in_root env CFLAGS="$cflags" LDFLAGS="$ldflags" \
		cmake -S "/mnt/rdma-core/src-$ver" -B "/mnt/rdma-core/obj-$ver" $config
fi
pabi=$(sed -n 's/^set(IBVERBS_PABI_VERSION "\([0-9]*\)")$/\1/p' \
	"$src/CMakeLists.txt")
[ -n "$pabi" ] || die "cannot tell the provider ABI version of rdma-core $ver"
lib=librxe-rdmav$pabi.so
log "building $lib"
quiet in_root cmake --build "/mnt/rdma-core/obj-$ver" --target "rxe-rdmav$pabi" \
	-j"$(nproc)"
[ -f "$obj/lib/$lib" ] || die "the build made no $obj/lib/$lib"
mkdir -p "$BUILD/userspace"
cmp -s "$obj/lib/$lib" "$BUILD/userspace/$lib" ||
	cp "$obj/lib/$lib" "$BUILD/userspace/$lib"
log "provider: $BUILD/userspace/$lib (rdma-core $ver + $(echo "$patches" | wc -l) patch(es))"

suffix=$(in_root python3 -c \
	'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
exts="dmabuf$suffix mr$suffix"
log "building pyverbs' $exts"
# shellcheck disable=SC2086
quiet in_root cmake --build "/mnt/rdma-core/obj-$ver" \
	--target ${exts//.so/} -j"$(nproc)"
for ext in $exts; do
	[ -f "$obj/python/pyverbs/$ext" ] ||
		die "the build made no $obj/python/pyverbs/$ext"
	cmp -s "$obj/python/pyverbs/$ext" "$BUILD/userspace/$ext" ||
		cp "$obj/python/pyverbs/$ext" "$BUILD/userspace/$ext"
done
log "pyverbs: $BUILD/userspace/{${exts// /,}}"
