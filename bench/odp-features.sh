#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
#
# Cold (first-touch) against warm RDMA WRITE bandwidth into an ODP MR, by
# fault-around window and huge page entries, in one VM boot.
#
#   bench/odp-features.sh [-r REPS] [--no-icount]
#
# Boots the guest with an instruction-counted clock (-icount, one vCPU) so
# that figures repeat across runs, then runs bench/odp_cold (64 MiB buffer,
# 64 KiB RDMA WRITEs, 16 in flight) REPS times (default 3) for each of
#   4k-fa0, 4k-fa64, 4k-fa2048   4 KiB pages, fault-around 0/64/2048 KiB
#   thp-huge, thp-nohuge         THP buffer, odp_huge Y/N (fault-around 64)
# alternating the order of the configurations between rounds, and reports
# the medians: MiB/s of the cold and the warm pass and the device's
# odp_page_faults of the cold pass.  Results: build/bench/odp-features.
# {csv,md}.  Prints, never judges.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

reps=3 icount=--icount
while [ $# -gt 0 ]; do
	case $1 in
	-r) reps=$2; shift 2 ;;
	--no-icount) icount=; shift ;;
	*) echo "usage: $0 [-r REPS] [--no-icount]" >&2; exit 2 ;;
	esac
done

out=$top/build/bench
run=$out/odp-features-run
mkdir -p "$out"
[ -x "$top/build/tests/odp_cold" ] ||
	{ echo "build/tests/odp_cold missing: run scripts/build.sh tests" >&2; exit 1; }
"$top/scripts/vm.sh" -t 3600 -o "$run" $icount -- \
	bench/guest-odp-features.sh "$reps"
csv=$out/odp-features.csv
cp "$run/odp-features.csv" "$csv"

# Median of column $2 over the rows of config $1 and pass $3.
med() {
	awk -F, -v c="$1" -v col="$2" -v p="$3" \
		'NR > 1 && $1 == c && $6 == p { print $col }' "$csv" | sort -g |
		awk '{ v[NR] = $1 } END { if (!NR) print "n/a";
			else if (NR % 2) print v[(NR + 1) / 2];
			else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
{
	echo "Command: bench/odp-features.sh -r $reps ${icount:-(no icount)}" \
		"(64 MiB ODP buffer, 64 KiB RDMA WRITEs, median of $reps)"
	echo
	echo "| config | fault-around KiB | odp_huge | cold MiB/s | warm MiB/s | cold/warm | cold odp_page_faults | cold pages faulted | AnonHugePages kB |"
	echo "|---|---|---|---|---|---|---|---|---|"
	for c in 4k-fa0 4k-fa64 4k-fa2048 thp-huge thp-nohuge; do
		row=$(awk -F, -v c="$c" 'NR > 1 && $1 == c { print $3 "|" $4; exit }' "$csv")
		cold=$(med "$c" 7 cold)
		warm=$(med "$c" 7 warm)
		ratio=$(awk -v a="$cold" -v b="$warm" \
			'BEGIN { if (b + 0 > 0) printf "%.3f", a / b; else print "n/a" }')
		echo "| $c | ${row%|*} | ${row#*|} | $cold | $warm | $ratio |" \
			"$(med "$c" 8 cold) | $(med "$c" 9 cold) | $(med "$c" 10 cold) |"
	done
} > "$out/odp-features.md"
cat "$out/odp-features.md"
