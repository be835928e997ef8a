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
# 1-2. Version check, extraction of rxe from linux-source-6.12 and the patch
#      series: scripts/prepare-src.sh, shared with make install and DKMS.
"$TOP/scripts/prepare-src.sh" "$ROOT" "$kver"
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
	# The test dma-buf exporter, built in a copy (M= must be writable):
	# build/tests/kmod/rxe_test_dmabuf.ko.
	mkdir -p "$BUILD/tests/kmod"
	cp -p "$TOP"/tests/kmod/{Kbuild,*.c,*.h} "$BUILD/tests/kmod/"
	in_root make -C "/lib/modules/$kver/build" \
		M=/mnt/rxe-odp/build/tests/kmod -j"$(nproc)" "$@" modules
fi
