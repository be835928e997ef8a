#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
#
# make demo: boot the Debian 13 kernel in QEMU once, with the rebuilt
# rdma_rxe.ko on lo, and run perftest bandwidth (ib_write_bw, ib_read_bw,
# ib_send_bw; 64 KiB messages, 5 s each) per memory mode, then print a
# table.  Raw outputs stay in build/vm/demo.  Needs `make` (the module)
# first; the Makefile's demo target does that.
#
#   scripts/demo.sh
#
# Memory modes, one column each: "pinned" (registered memory) and "odp"
# (--odp on both sides, run only if the module reports ODP support).
# RXE_ODP_DEMO_MODES overrides the list; RXE_ODP_DEMO_TIMEOUT the VM bound.
set -euo pipefail
. "$(dirname "$0")/common.sh"

MODES=${RXE_ODP_DEMO_MODES:-pinned odp}
run=$BUILD/vm/demo

set +e
# shellcheck disable=SC2086
"$TOP/scripts/vm.sh" -t "${RXE_ODP_DEMO_TIMEOUT:-900}" -o "$run" -- \
	bash scripts/guest-demo.sh $MODES
rc=$?
set -e

res=$run/results.tsv
if [ ! -s "$res" ]; then
	log "demo: no results (vm.sh exit $rc); see $run/console.log"
	[ "$rc" != 0 ] || rc=1
	exit "$rc"
fi

echo
echo "perftest over rxe0 on lo, kernel $(root_kver), $((65536 / 1024)) KiB messages, 5 s"
echo "per run, in QEMU TCG: the figures measure the emulator, not a NIC."
echo
awk -F '\t' -v modes="$MODES" '
	BEGIN { n = split(modes, m, " ") }
	!($1 in seen) { seen[$1] = 1; order[++k] = $1 }
	{ v[$1, $2] = $3 }
	END {
		printf "%-12s", "test"
		for (i = 1; i <= n; i++)
			printf "  %14s", m[i] " MiB/s"
		printf "\n"
		for (j = 1; j <= k; j++) {
			printf "%-12s", order[j]
			for (i = 1; i <= n; i++) {
				x = v[order[j], m[i]]
				printf "  %14s", x == "" ? "-" : x
			}
			printf "\n"
		}
	}' "$res"
echo
if [ -s "$run/swap.txt" ]; then
	echo "Swap under RDMA (tests/rxe_odp -t swap): 256 MiB ODP MR paged out to"
	echo "zram with MADV_PAGEOUT while registered, then read back over RDMA and"
	echo "checked byte for byte; the same with a pinned MR stays resident."
	sed 's/^# *[^:]*:[0-9]*:swap:/  /' "$run/swap.txt"
	echo
fi
echo "raw outputs: $run"
exit "$rc"
