#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
#
# make check-debug: the ODP suites on a debug build of the same 6.12
# kernel (lockdep, KASAN, DEBUG_VM, DEBUG_PAGEALLOC, KMEMLEAK; see
# scripts/debug-kernel.sh), with our rdma_rxe.ko built against it.  Any
# lockdep splat, KASAN report, WARN or kmemleak report fails it.  Not in
# CI: the kernel build alone takes longer than CI allows on two cores.
#
#   scripts/check-debug.sh [tests/run_tests.sh filter]
set -uo pipefail
. "$(dirname "$0")/common.sh"

# pyverbs_dmabuf is not among them: --kernel-dir keeps Debian's provider
# and pyverbs in the guest (rxe_odp_dmabuf registers through
# ibv_cmd_reg_dmabuf_mr() then).
filter=${1:-^(rv_verbs|rxe_odp|rxe_odp_ext|rxe_odp_torture|rxe_odp_bad|dmabuf_load|rxe_odp_dmabuf|dmabuf_unload|module_reload)$}
dk=$RXE_ODP_CACHE/debug-kernel
"$TOP/scripts/debug-kernel.sh" > /dev/null || die "debug kernel build failed"
"$TOP/scripts/build.sh" all > /dev/null || die "module/tests build failed"

in_root() { chroot "$ROOT" env LC_ALL=C "$@"; }
mnt=$ROOT/mnt/rxe-odp-debug
mkdir -p "$mnt"
mountpoint -q "$mnt" || { mount --bind "$dk" "$mnt"; trap 'umount "$mnt"' EXIT; }
kver=$(in_root make -s -C /mnt/rxe-odp-debug/obj kernelrelease)

# Our module, built against the debug tree from a copy of the sources.
rm -rf "$dk/mod"
mkdir -p "$dk/mod/build"
cp -a "$TOP/Kbuild" "$TOP/drivers" "$TOP/include" "$dk/mod/"
cp -a "$BUILD/rxe" "$dk/mod/build/rxe"
find "$dk/mod" -name '*.o' -o -name '.*.cmd' -o -name '*.ko' | xargs rm -f
in_root make -s -C /mnt/rxe-odp-debug/obj M=/mnt/rxe-odp-debug/mod \
	-j"$(nproc)" modules || die "module build against the debug kernel failed"

# A kernel directory for vm.sh --kernel-dir: the image, its modules and
# ours in updates/, indexed by depmod.
kd=$dk/kdir
rm -rf "$kd"
mkdir -p "$kd/boot"
cp "$dk/bzImage" "$kd/boot/vmlinuz-$kver"
in_root make -s -C /mnt/rxe-odp-debug/obj INSTALL_MOD_PATH=/mnt/rxe-odp-debug/kdir \
	modules_install > /dev/null
mkdir -p "$kd/lib/modules/$kver/updates"
cp "$dk/mod/rdma_rxe.ko" "$kd/lib/modules/$kver/updates/"
# The test dma-buf exporter too (run_tests.sh modprobes it).
rm -rf "$dk/kmod"
mkdir -p "$dk/kmod"
cp "$TOP"/tests/kmod/{Kbuild,*.c,*.h} "$dk/kmod/"
in_root make -s -C /mnt/rxe-odp-debug/obj M=/mnt/rxe-odp-debug/kmod \
	-j"$(nproc)" modules || die "test exporter build against the debug kernel failed"
cp "$dk/kmod/rxe_test_dmabuf.ko" "$kd/lib/modules/$kver/updates/"
rm -f "$kd/lib/modules/$kver/build" "$kd/lib/modules/$kver/source"
in_root depmod -b /mnt/rxe-odp-debug/kdir "$kver"

out=$BUILD/vm/check-debug
# no5lvl: with -cpu max the guest runs 5-level paging, and 6.12's
# identify_cpu() briefly clears X86_FEATURE_LA57 while it re-reads CPUID;
# KASAN then computes shadow addresses for 4-level and reports a
# wild-memory-access in the first interrupt (seen at boot, before any of
# our code).  Four-level paging avoids that window.  pci=noacpi: under
# KASAN and lockdep each evaluation of the PCI _PRT method ran into
# ACPI's 30 s loop timeout, four of them per boot; QEMU's PIRQ table
# routes the same interrupts.
"$TOP/scripts/vm.sh" -t "${RXE_ODP_CHECK_TIMEOUT:-5400}" -m 4096 -o "$out" \
	--kernel-dir "$kd" --append "no5lvl pci=noacpi numa=fake=2" -- bash -c "RXE_ODP_KSFT_TIMEOUT=3600 RXE_ODP_TIMEOUT_SCALE=8 tests/run_tests.sh '$filter'; rc=\$?;
		echo scan > /sys/kernel/debug/kmemleak; sleep 5;
		echo scan > /sys/kernel/debug/kmemleak;
		cat /sys/kernel/debug/kmemleak > /mnt/run/kmemleak.txt;
		exit \$rc"
rc=$?
fail=0
[ $rc = 0 ] || { echo "FAIL debug/guest_suite: exit $rc"; fail=1; }
bad=$(grep -v -e 'ommand line:' -e 'RCU lockdep checking is enabled' "$out/dmesg.txt" 2>/dev/null |
	drop_memcg_oom | grep -E 'WARNING:|BUG:|Oops|KASAN|possible circular|possible recursive|inconsistent lock|lockdep|hung_task|soft lockup|Bad page|[Pp]oison|memory corruption|single bit error')
if [ -n "$bad" ] || [ ! -f "$out/dmesg.txt" ]; then
	echo "FAIL debug/dmesg:"
	echo "$bad" | head -40
	fail=1
fi
if [ -s "$out/kmemleak.txt" ]; then
	echo "FAIL debug/kmemleak:"
	head -60 "$out/kmemleak.txt"
	fail=1
fi
[ $fail = 0 ] && echo "PASS debug: suite, dmesg and kmemleak clean on $kver"
exit $fail
