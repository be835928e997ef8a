#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
#
# Compile the bench/ C programs inside the Debian 13 root (its gcc and
# libibverbs, what the guest runs) into build/bench/bin.
set -euo pipefail
. "$(dirname "$0")/../scripts/common.sh"

progs="odp_first_touch odp_regtime odp_inval odp_swap"
exec 8> "$RXE_ODP_CACHE/build.lock"
flock 8
mnt=$ROOT/mnt/rxe-odp
mkdir -p "$mnt" "$BUILD/bench/bin"
if ! mountpoint -q "$mnt"; then
	mount --bind "$TOP" "$mnt"
	trap 'umount "$mnt"' EXIT
fi
for p in $progs; do
	chroot "$ROOT" env LC_ALL=C gcc -O2 -g -Wall -Wextra -D_GNU_SOURCE \
		-o "/mnt/rxe-odp/build/bench/bin/$p" "/mnt/rxe-odp/bench/$p.c" -libverbs
done
log "bench programs in $BUILD/bench/bin: $progs"
