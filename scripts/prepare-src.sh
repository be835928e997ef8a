#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
#
# Prepare the sources Kbuild compiles: extract rxe (and the checkpatch,
# kernel-doc and selftest harness files) from a Debian linux-source-6.12
# tarball into build/src, apply patches/*.patch with no fuzz, and copy the
# patched rxe to build/rxe.  Runs on the host, no chroot: ROOTDIR is only a
# path prefix for the dpkg database and /usr/src.
#
#   scripts/prepare-src.sh [ROOTDIR [KVER]]
#
#   ROOTDIR  the system whose packages are used: the Debian 13 root of the
#            QEMU test bed (default), or / on a real Debian 13 machine
#   KVER     the kernel release to build for; default: the root's only
#            kernel, or `uname -r` when ROOTDIR is /
#
# linux-source-6.12, linux-headers-KVER and linux-image-KVER must be the same
# Debian upload (RXE_ODP_ALLOW_SRC_MISMATCH=1 turns that into a warning).
# Takes no lock: scripts/build.sh calls it under its own.
set -euo pipefail
. "$(dirname "$0")/common.sh"

rootdir=${1:-$ROOT}
kver=${2:-}
r=${rootdir%/}		# "" for /
if [ -z "$kver" ]; then
	if [ -z "$r" ]; then
		kver=$(uname -r)
	else
		kver=$(ROOT=$r root_kver)
	fi
fi
command -v patch >/dev/null || die "needs patch (apt-get install patch)"

pkgver() {
	dpkg-query --admindir="$r/var/lib/dpkg" -W -f='${Version}' "$1" \
		2>/dev/null || true
}

# 1. Versions: source, headers and image must be the same Debian upload.
srcver=$(pkgver linux-source-6.12)
hdrver=$(pkgver "linux-headers-$kver")
imgver=$(pkgver "linux-image-$kver")
[ -n "$srcver" ] || die "linux-source-6.12 is not installed in ${r:-/} (apt-get install linux-source-6.12)"
[ -n "$hdrver" ] || die "linux-headers-$kver is not installed in ${r:-/} (apt-get install linux-headers-$kver)"
[ -n "$imgver" ] || die "linux-image-$kver is not installed in ${r:-/}"
if [ "$srcver" != "$hdrver" ] || [ "$srcver" != "$imgver" ]; then
	msg="version mismatch: linux-source-6.12 $srcver, linux-headers-$kver $hdrver, linux-image-$kver $imgver"
	if [ -n "${RXE_ODP_ALLOW_SRC_MISMATCH:-}" ]; then
		log "warning: $msg"
	elif [ -z "$r" ]; then
		die "$msg (upgrade the kernel and reboot, or set RXE_ODP_ALLOW_SRC_MISMATCH=1)"
	else
		die "$msg (a security upload moved one of them: re-run scripts/mkroot.sh after apt-get upgrade in the root)"
	fi
fi

# 2. Extract rxe (and the selftest harness headers) once per source version,
#    then apply the patch series with no fuzz.
src=$BUILD/src
tarball=$(ls "$r"/usr/src/linux-source-6.12.tar.* 2>/dev/null | head -n1)
[ -n "$tarball" ] || die "no linux-source-6.12 tarball in ${r:-/}/usr/src"
series=$(ls "$TOP"/patches/*.patch 2>/dev/null || true)
# shellcheck disable=SC2086
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
