#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
#
# Build rdma_rxe.ko for the root's Debian 13 kernel, inside the root (its
# gcc-14, its headers), from the root's own linux-source-6.12 plus the
# project's patch series and drivers/odp.
#
#   scripts/build.sh [module|tests|src|all] [extra kbuild args, e.g. C=1 W=1]
set -euo pipefail
. "$(dirname "$0")/common.sh"

what=${1:-all}
shift || true

# One build at a time (the root is shared, and so is build/).
exec 8> "$RXE_ODP_CACHE/build.lock"
flock 8

kver=$(root_kver)
in_root() { chroot "$ROOT" env LC_ALL=C "$@"; }
pkgver() { in_root dpkg-query -W -f='${Version}' "$1" 2>/dev/null || true; }

# 1. Versions: source, headers and image must be the same Debian upload.
srcver=$(pkgver linux-source-6.12)
hdrver=$(pkgver "linux-headers-$kver")
imgver=$(pkgver "linux-image-$kver")
[ -n "$srcver" ] || die "linux-source-6.12 is not installed in $ROOT"
[ -n "$hdrver" ] || die "linux-headers-$kver is not installed in $ROOT"
[ -n "$imgver" ] || die "linux-image-$kver is not installed in $ROOT"
if [ "$srcver" != "$hdrver" ] || [ "$srcver" != "$imgver" ]; then
	die "version mismatch: linux-source-6.12 $srcver, linux-headers-$kver $hdrver, linux-image-$kver $imgver (a security upload moved one of them: re-run scripts/mkroot.sh after apt-get upgrade in the root)"
fi

# 2. Extract rxe (and the selftest harness headers) once per source version,
#    then apply the patch series with no fuzz.
src=$BUILD/src
tarball=$(ls "$ROOT"/usr/src/linux-source-6.12.tar.* 2>/dev/null | head -n1)
[ -n "$tarball" ] || die "no linux-source-6.12 tarball in $ROOT/usr/src"
series=$(ls "$TOP"/patches/*.patch 2>/dev/null || true)
want="$srcver $(cat $series /dev/null | sha1sum | cut -c1-12)"
if [ "$(cat "$src/.stamp" 2>/dev/null)" != "$want" ]; then
	log "extracting rxe from $(basename "$tarball") ($srcver)"
	rm -rf "$src" "$BUILD/rxe"
	mkdir -p "$src"
	tar -C "$src" --strip-components=1 -xf "$tarball" \
		linux-source-6.12/drivers/infiniband/sw/rxe \
		linux-source-6.12/tools/testing/selftests/kselftest_harness.h \
		linux-source-6.12/tools/testing/selftests/kselftest.h \
		linux-source-6.12/scripts/checkpatch.pl \
		linux-source-6.12/scripts/spelling.txt \
		linux-source-6.12/scripts/const_structs.checkpatch \
		linux-source-6.12/scripts/kernel-doc
	for p in $series; do
		log "applying $(basename "$p")"
		patch -d "$src" -p1 --fuzz=0 --no-backup-if-mismatch -s < "$p" ||
			die "patch $(basename "$p") does not apply cleanly to $srcver"
	done
	echo "$want" > "$src/.stamp"
fi
if [ ! -d "$BUILD/rxe" ]; then
	# Kbuild compiles build/rxe/*.c: a copy of the patched tree.
	cp -a "$src/drivers/infiniband/sw/rxe" "$BUILD/rxe"
	rm -f "$BUILD/rxe/Makefile" "$BUILD/rxe/Kconfig"
fi
[ "$what" = src ] && exit 0

# 3. Compile inside the root, with the project bind-mounted at /mnt/rxe-odp.
mnt=$ROOT/mnt/rxe-odp
mkdir -p "$mnt"
if ! mountpoint -q "$mnt"; then
	mount --bind "$TOP" "$mnt"
	trap 'umount "$mnt"' EXIT
fi
if [ "$what" = module ] || [ "$what" = all ]; then
	log "building rdma_rxe.ko for $kver"
	in_root make -C "/lib/modules/$kver/build" M=/mnt/rxe-odp \
		-j"$(nproc)" "$@" modules
	# depmod natively here, not in the emulated guest (a minute there):
	# build/depmod holds the module index with updates/rdma_rxe.ko.
	dm=/tmp/rxe-odp-depmod
	base=$ROOT$dm/lib/modules/$kver
	rm -rf "$ROOT$dm"
	mkdir -p "$base/updates"
	ln -s "/lib/modules/$kver/kernel" "$base/kernel"
	cp "$ROOT/lib/modules/$kver"/modules.{order,builtin,builtin.modinfo} "$base/"
	cp "$TOP/rdma_rxe.ko" "$base/updates/"
	in_root depmod -b "$dm" "$kver"
	grep -q '^updates/rdma_rxe.ko:' "$base/modules.dep" ||
		die "depmod did not index updates/rdma_rxe.ko"
	rm -rf "$BUILD/depmod"
	mkdir -p "$BUILD/depmod"
	cp "$base"/modules.* "$BUILD/depmod/"
	rm -rf "$ROOT$dm"
fi
if [ "$what" = tests ] || [ "$what" = all ]; then
	log "building tests"
	in_root make -C /mnt/rxe-odp/tests -j"$(nproc)" O=/mnt/rxe-odp/build/tests
fi
