#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
#
# Warm ODP vs pinned bandwidth, perftest, one VM boot.
#
#   bench/perftest-odp.sh [-r REPS] [-s SIZE] [-D SECONDS] [--no-icount]
#
# Boots the guest with an instruction-counted clock (-icount, one vCPU) so
# that figures repeat across runs, then alternates pinned and --odp runs of
# ib_write_bw, ib_read_bw and ib_send_bw (REPS each, default 5) and
# reports the medians and the ODP/pinned ratios.  Results: build/bench/
# perftest-odp.{csv,md}.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

reps=5 size=65536 dur=3 icount=--icount
while [ $# -gt 0 ]; do
	case $1 in
	-r) reps=$2; shift 2 ;;
	-s) size=$2; shift 2 ;;
	-D) dur=$2; shift 2 ;;
	--no-icount) icount=; shift ;;
	*) echo "usage: $0 [-r REPS] [-s SIZE] [-D SECONDS] [--no-icount]" >&2
	   exit 2 ;;
	esac
done

out=$top/build/bench
mkdir -p "$out"
"$top/scripts/vm.sh" -t 3600 -o "$out/perftest-odp-run" $icount -- \
	bench/guest-perftest-odp.sh "$reps" "$size" "$dur"
cp "$out/perftest-odp-run/perftest-odp.csv" "$out/perftest-odp.csv"

# Medians per test and mode, then the ratio, as a markdown table.
{
	echo "Command: bench/perftest-odp.sh -r $reps -s $size -D $dur ${icount:-(no icount)}"
	echo
	echo "| test | size | pinned MiB/s (median) | ODP MiB/s (median) | ODP/pinned |"
	echo "|---|---|---|---|---|"
	for t in ib_write_bw ib_read_bw ib_send_bw; do
		med() {
			awk -F, -v t="$t" -v m="$1" '$1 == t && $2 == m { print $4 }' \
				"$out/perftest-odp.csv" | sort -g |
				awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2];
					else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
		}
		p=$(med pinned)
		o=$(med odp)
		r=$(awk -v p="$p" -v o="$o" 'BEGIN { if (p > 0) printf "%.3f", o / p; else print "n/a" }')
		echo "| $t | $size | $p | $o | $r |"
	done
} > "$out/perftest-odp.md"
cat "$out/perftest-odp.md"
