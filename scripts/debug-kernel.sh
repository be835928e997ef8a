#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
#
# Build, once and cached, a debug 6.12 kernel from the root's own
# linux-source-6.12: lockdep (PROVE_LOCKING), DEBUG_ATOMIC_SLEEP, KASAN,
# DEBUG_VM, DEBUG_PAGEALLOC, KMEMLEAK, page poisoning.  Everything the
# tests need is built in, so the guest only loads our rdma_rxe.ko, which
# this script also builds against that tree.
#
#   scripts/debug-kernel.sh            build kernel (if needed) and module
#
# Output in $RXE_ODP_CACHE/debug-kernel: bzImage, rdma_rxe.ko, .stamp.
set -euo pipefail
. "$(dirname "$0")/common.sh"

dk=$RXE_ODP_CACHE/debug-kernel
src=$dk/src
obj=$dk/obj
in_root() { chroot "$ROOT" env LC_ALL=C "$@"; }
tarball=$(ls "$ROOT"/usr/src/linux-source-6.12.tar.* | head -n1)
want=$(basename "$tarball")

mkdir -p "$dk"
exec 7> "$dk/lock"
flock 7

mnt=$ROOT/mnt/rxe-odp-debug
mkdir -p "$mnt"
mountpoint -q "$mnt" || { mount --bind "$dk" "$mnt"; trap 'umount "$mnt"' EXIT; }
k() { in_root make -C /mnt/rxe-odp-debug/src O=/mnt/rxe-odp-debug/obj "$@"; }
cfg() { in_root /mnt/rxe-odp-debug/src/scripts/config --file /mnt/rxe-odp-debug/obj/.config "$@"; }

# A new linux-source upload starts from scratch; a changed configuration
# below only rebuilds what depends on it.
if [ "$(cut -d' ' -f1 "$dk/.stamp" 2>/dev/null)" != "$want" ] ||
   [ ! -f "$obj/.config" ]; then
	rm -rf "$src" "$obj" "$dk/bzImage" "$dk/config.built"
	mkdir -p "$src" "$obj"
	log "extracting $(basename "$tarball") for the debug kernel"
	tar -C "$src" --strip-components=1 -xf "$tarball"
	k -s defconfig
	k -s kvm_guest.config
	echo "$want" > "$dk/.stamp"
fi

# What the root, the runner and the tests need, built in (rdma_rxe itself
# is ours, so what its Kconfig selects is listed here).
cfg -e NET_9P -e NET_9P_VIRTIO -e 9P_FS -e 9P_FS_POSIX_ACL \
    -e OVERLAY_FS -e VIRTIO_PCI -e DEVTMPFS -e TMPFS \
    -e IPV6 -e VXLAN -e DUMMY -e NET_SCH_NETEM -e NET_CLS_U32 \
    -e INFINIBAND -e INFINIBAND_USER_ACCESS -e INFINIBAND_USER_MEM \
    -e INFINIBAND_ON_DEMAND_PAGING -e INFINIBAND_ADDR_TRANS \
    -d RDMA_RXE -d RDMA_SIW -e NET_UDP_TUNNEL -e CRYPTO -e CRYPTO_CRC32 \
    -e SWAP -e ZSMALLOC -e ZRAM -e MEMCG -e CGROUPS \
    -e TRANSPARENT_HUGEPAGE -e TRANSPARENT_HUGEPAGE_MADVISE \
    -e HUGETLBFS -e KSM -e NUMA -e NUMA_EMU -e MIGRATION -e COMPACTION \
    -e LRU_GEN -e LRU_GEN_ENABLED -e DAMON -e DAMON_VADDR \
    -e DAMON_SYSFS -e USERFAULTFD -e HMM_MIRROR -e MMU_NOTIFIER \
    -e UDMABUF -e DMABUF_HEAPS -e DMABUF_HEAPS_SYSTEM -e DMABUF_MOVE_NOTIFY \
    -e DRM -e DRM_VGEM \
    -e DEBUG_FS -e FTRACE -e TRACING -e EVENT_TRACING \
    -e MODULES -e MODULE_UNLOAD -d MODULE_SIG -d MODVERSIONS \
    -e IKCONFIG -e IKCONFIG_PROC
# The debug options.
cfg -e DEBUG_KERNEL -e PROVE_LOCKING -e DEBUG_LOCKDEP \
    -e DEBUG_ATOMIC_SLEEP -e DEBUG_VM -e DEBUG_LIST \
    -e KASAN -e KASAN_GENERIC -e KASAN_INLINE \
    -e DEBUG_PAGEALLOC -e DEBUG_PAGEALLOC_ENABLE_DEFAULT \
    -e PAGE_POISONING -e DEBUG_KMEMLEAK \
    -d DEBUG_KMEMLEAK_DEFAULT_OFF -e DEBUG_KMEMLEAK_AUTO_SCAN \
    --set-val DEBUG_KMEMLEAK_MEM_POOL_SIZE 65536 \
    -e SOFTLOCKUP_DETECTOR -e DETECT_HUNG_TASK \
    -d DEBUG_INFO -d DEBUG_INFO_BTF -e DEBUG_INFO_NONE \
    -d RANDOMIZE_BASE
k -s olddefconfig
if ! cmp -s "$obj/.config" "$dk/config.built" || [ ! -f "$dk/bzImage" ]; then
	log "building the debug kernel (first time: tens of minutes)"
	k -j"$(nproc)" bzImage modules
	cp "$obj/arch/x86/boot/bzImage" "$dk/bzImage"
	cp "$obj/.config" "$dk/config.built"
fi
echo "$dk/bzImage"
