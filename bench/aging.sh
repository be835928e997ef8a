#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
#
# Does feeding the device's accessed bits to page aging work, and what does
# it cost?  Two VM boots.
#
#   bench/aging.sh [-r REPS] [-p PASSES] [-c COST_REPS] [-s SIZE]
#                  [-D SECONDS] [--no-effect] [--no-cost]
#
# Effect (one boot, 2 vCPUs): REPS rounds (default 1) of tests/rxe_odp_aging
# (build it with scripts/build.sh tests): a loopback peer keeps reading a
# hot 32 MiB of a 1 GiB ODP MR with RDMA READ while the process streams CPU
# writes through the rest, in a memory cgroup with memory.max well below
# its footprint and swap on zram; PASSES (default 48) measured passes after
# a warm-up, the same for odp_aging=N then Y, under the multi-gen
# LRU (Debian's default) and under the classic LRU.  Refaults of the hot
# set = odp_pages_faulted delta + the process's major faults, over the same
# number of passes.  Also the DAMON observation (nr_accesses of the hot
# set) and the calls of each aging callback (kprobe hits).
#
# Cost (one boot, --icount: one vCPU, instruction-counted clock): COST_REPS
# rounds (default 5) of ib_read_bw --odp at SIZE (default 64 KiB) for
# SECONDS (default 3), alternating odp_aging=Y and N; medians.
#
# Results: build/bench/aging.csv (long format: kind,lru,aging,rep,metric,
# value) and build/bench/aging.md.  The bench reports, it asserts nothing
# (tests/rxe_odp_aging asserts the direction).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

reps=1 passes=48 creps=5 size=65536 dur=3 effect=1 cost=1
cmdline="bench/aging.sh $*"
while [ $# -gt 0 ]; do
	case $1 in
	-r) reps=$2; shift 2 ;;
	-p) passes=$2; shift 2 ;;
	-c) creps=$2; shift 2 ;;
	-s) size=$2; shift 2 ;;
	-D) dur=$2; shift 2 ;;
	--no-effect) effect=; shift ;;
	--no-cost) cost=; shift ;;
	*) echo "usage: $0 [-r REPS] [-p PASSES] [-c COST_REPS] [-s SIZE] [-D SECONDS] [--no-effect] [--no-cost]" >&2
	   exit 2 ;;
	esac
done

out=$top/build/bench
mkdir -p "$out"
[ -x "$top/build/tests/rxe_odp_aging" ] ||
	echo "aging.sh: build/tests/rxe_odp_aging missing (scripts/build.sh tests)" >&2

if [ -n "$effect" ]; then
	"$top/scripts/vm.sh" -t $((900 + reps * (300 + 20 * passes))) -o "$out/aging-effect-run" -- \
		bench/guest-aging.sh effect "$reps" "$passes" ||
		echo "aging.sh: effect boot exited with $?" >&2
fi
if [ -n "$cost" ]; then
	"$top/scripts/vm.sh" -t $((600 + 4 * creps * (dur + 20))) --icount \
		-o "$out/aging-cost-run" -- \
		bench/guest-aging.sh cost "$creps" "$size" "$dur" ||
		echo "aging.sh: cost boot exited with $?" >&2
fi

ecsv=$out/aging-effect-run/aging-effect.csv
ccsv=$out/aging-cost-run/aging-cost.csv
kcsv=$out/aging-effect-run/aging-calls.csv

# The long CSV: one row per figure.
{
	echo "kind,lru,aging,rep,metric,value"
	[ -f "$ecsv" ] && awk -F, '
		NR == 1 { for (i = 1; i <= NF; i++) h[i] = $i; next }
		{
			kind = $1 == "damon" ? "damon" : "effect"
			rep = ++n[$1 "," $2]
			for (i = 3; i <= NF; i++)
				printf "%s,%s,%s,%d,%s,%s\n", kind, $1, $2, rep, h[i], $i
		}' "$ecsv"
	[ -f "$kcsv" ] && awk -F, 'NR > 1 {
		split($1, t, ".")
		lru = t[1] == "damon" ? "damon" : t[2]
		printf "calls,%s,both,%s,clear_young,%s\n", lru, $2, $3
		printf "calls,%s,both,%s,clear_flush_young,%s\n", lru, $2, $4
		printf "calls,%s,both,%s,test_young,%s\n", lru, $2, $5
		printf "calls,%s,both,%s,inc_max_seq,%s\n", lru, $2, $6
		printf "calls,%s,both,%s,lru_gen_look_around,%s\n", lru, $2, $7
	}' "$kcsv"
	[ -f "$ccsv" ] && awk -F, 'NR > 1 {
		printf "cost,-,%s,%s,ib_read_bw_odp_%s_mibps,%s\n",
			$1 == "Y" ? "on" : "off", $2, '"$size"', $3
	}' "$ccsv"
} > "$out/aging.csv"

# Median of the values of rows matching kind, lru, aging and metric.
med() {	# kind lru aging metric
	awk -F, -v k="$1" -v l="$2" -v a="$3" -v m="$4" \
		'$1 == k && $2 == l && $3 == a && $5 == m { print $6 }' \
		"$out/aging.csv" | sort -g |
		awk '{ v[NR] = $1 } END { if (!NR) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2];
			else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ratio() {	# num den: num / max(den, 1)
	awk -v n="$1" -v d="$2" 'BEGIN {
		if (n == "n/a" || d == "n/a") { print "n/a"; exit }
		printf "%.1f", n / (d > 0 ? d : 1) }'
}

{
	echo "# Device accessed bits and page aging"
	echo
	echo "Command: \`$cmdline\` (effect: $reps round(s) of $passes passes, 2 vCPUs;" \
		"cost: $creps rounds, --icount)"
	echo
	echo "## Effect: refaults of the device-read hot set"
	echo
	echo "Refaults = odp_pages_faulted delta + the process's major faults over" \
		"the measured passes (medians over rounds).  Setup: see" \
		"tests/rxe_odp_aging.c."
	echo
	echo "| LRU | aging | refaults | odp_pages_faulted | majflt | odp_young | workingset_refault_anon (whole run, warm-up included) | passes | s | off/on |"
	echo "|---|---|---|---|---|---|---|---|---|---|"
	for l in mglru classic; do
		off=$(med effect $l off refaults)
		on=$(med effect $l on refaults)
		for a in off on; do
			echo "| $l | $a | $(med effect $l $a refaults) |" \
				"$(med effect $l $a odp_pages_faulted) |" \
				"$(med effect $l $a majflt) |" \
				"$(med effect $l $a odp_young) |" \
				"$(med effect $l $a workingset_refault_anon) |" \
				"$(med effect $l $a passes) | $(med effect $l $a secs) |" \
				"$([ $a = on ] && ratio "$off" "$on") |"
		done
		# The control: the CPU reads the hot set at the device's pace.
		c=$l-cpu-reader
		[ "$(med effect $c on passes)" = n/a ] ||
			echo "| $l, CPU reader (control) | - | $(med effect $c on refaults) |" \
				"- | $(med effect $c on majflt) | - |" \
				"$(med effect $c on workingset_refault_anon) |" \
				"$(med effect $c on passes) | $(med effect $c on secs) | |"
	done
	echo
	for l in mglru classic; do
		r=$(ratio "$(med effect $l off refaults)" "$(med effect $l on refaults)")
		echo "- $l: aging off/on = $r;" \
			"10x target $(awk -v r="$r" 'BEGIN { print (r != "n/a" && r >= 10) ? "reached" : "NOT reached" }')."
	done
	echo
	echo "Per measured pass, round 1 (odp_pages_faulted/ms; bursts are the hot"
	echo "set being evicted and faulted back):"
	echo
	echo '```'
	for t in aging.mglru.hot_set_under_pressure aging.classic.hot_set_under_pressure; do
		f=$out/aging-effect-run/aging-$t-1.log
		[ -f "$f" ] && sed -n 's/^# .*hot_set_under_pressure:\(.*per pass:.*\)/\1/p' "$f"
	done
	echo '```'
	echo
	echo "## Which callbacks page aging called (kprobe hits, per test: aging off + on)"
	echo
	echo "| test | clear_young | clear_flush_young | test_young | MGLRU inc_max_seq | MGLRU lru_gen_look_around |"
	echo "|---|---|---|---|---|---|"
	for l in mglru classic damon; do
		echo "| $l | $(med calls $l both clear_young) |" \
			"$(med calls $l both clear_flush_young) |" \
			"$(med calls $l both test_young) |" \
			"$(med calls $l both inc_max_seq) |" \
			"$(med calls $l both lru_gen_look_around) |"
	done
	echo
	echo "## DAMON (vaddr): highest nr_accesses per aggregation"
	echo
	echo "| aging | hot set | untouched cold range |"
	echo "|---|---|---|"
	for a in off on; do
		echo "| $a | $(med damon damon $a damon_hot) | $(med damon damon $a damon_cold) |"
	done
	echo
	echo "## Cost: warm ib_read_bw --odp, $size bytes, ${dur} s, --icount"
	echo
	m="ib_read_bw_odp_${size}_mibps"
	y=$(med cost - on "$m")
	n=$(med cost - off "$m")
	echo "| odp_aging | MiB/s (median of $creps) |"
	echo "|---|---|"
	echo "| Y | $y |"
	echo "| N | $n |"
	echo
	echo "Aging on vs off: $(awk -v y="$y" -v n="$n" 'BEGIN {
		if (y == "n/a" || n == "n/a" || n <= 0) print "n/a";
		else printf "%+.2f%% (target: within 2%%)", (y - n) * 100 / n }')"
} > "$out/aging.md"
cat "$out/aging.md"
