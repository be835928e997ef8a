#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
#
# Does feeding the device's accessed bits to page aging work, and what does
# it cost?  Two VM boots.
#
#   bench/aging.sh [-r REPS] [-R "MEM/PASSES..."] [-c COST_REPS] [-s SIZE]
#                  [-D SECONDS] [--no-effect] [--no-cost]
#
# Effect (one boot, 2 vCPUs): REPS rounds (default 3) of tests/rxe_odp_aging
# (build it with scripts/build.sh tests): a loopback peer keeps reading a
# hot 32 MiB of a 1 GiB ODP MR with RDMA READ while the process streams CPU
# writes through the rest (32 KiB per 256 KiB READ), in a memory cgroup
# with memory.max below its footprint and swap on zram.  For each regime
# MEM/PASSES (default "96/48 160/96": memory.max in MiB, measured passes
# after a warm-up): odp_aging=N, then Y, then the control (the CPU reads
# the hot set at the same pace), under the multi-gen LRU (Debian's
# default) and under the classic LRU.  Refaults of the hot set =
# odp_pages_faulted delta + the process's major faults over the measured
# passes; workingset_refault_anon over the same passes is the kernel's
# count, the same for the device and for the CPU reader.  Also the DAMON
# observation (nr_accesses of the hot set) and the calls of each aging
# callback (kprobe hits).
#
# Cost (one boot, --icount: one vCPU, instruction-counted clock): COST_REPS
# rounds (default 5) of ib_read_bw --odp at SIZE (default 64 KiB) for
# SECONDS (default 3), alternating odp_aging=Y and N; medians.
#
# Results: build/bench/aging.csv (long format: kind,lru,mem,aging,rep,
# metric,value) and build/bench/aging.md.  --no-effect --no-cost only
# rewrites the report from the last boots' CSVs: give it the -r and -R
# those boots had.  The bench reports, it asserts nothing
# (tests/rxe_odp_aging asserts the direction).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

reps=3 regimes="96/48 160/96" creps=5 size=65536 dur=3 effect=1 cost=1
cmdline="bench/aging.sh${*:+ $*}"
while [ $# -gt 0 ]; do
	case $1 in
	-r) reps=$2; shift 2 ;;
	-R) regimes=$2; shift 2 ;;
	-c) creps=$2; shift 2 ;;
	-s) size=$2; shift 2 ;;
	-D) dur=$2; shift 2 ;;
	--no-effect) effect=; shift ;;
	--no-cost) cost=; shift ;;
	*) echo "usage: $0 [-r REPS] [-R \"MEM/PASSES...\"] [-c COST_REPS] [-s SIZE] [-D SECONDS] [--no-effect] [--no-cost]" >&2
	   exit 2 ;;
	esac
done

out=$top/build/bench
mkdir -p "$out"
[ -x "$top/build/tests/rxe_odp_aging" ] ||
	echo "aging.sh: build/tests/rxe_odp_aging missing (scripts/build.sh tests)" >&2

if [ -n "$effect" ]; then
	t=900
	for r in $regimes; do
		t=$((t + reps * (200 + 12 * ${r#*/})))
	done
	# shellcheck disable=SC2086 # one argument per regime
	"$top/scripts/vm.sh" -t $t -o "$out/aging-effect-run" -- \
		bench/guest-aging.sh effect "$reps" $regimes ||
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
	echo "kind,lru,mem,aging,rep,metric,value"
	[ -f "$ecsv" ] && awk -F, '
		NR == 1 { for (i = 1; i <= NF; i++) { h[i] = $i; c[$i] = i }; next }
		{
			kind = $1 == "damon" ? "damon" : "effect"
			mem = $(c["mem_max_mib"])
			rep = ++n[$1 "," mem "," $2]
			for (i = 3; i <= NF; i++)
				printf "%s,%s,%s,%s,%d,%s,%s\n", kind, $1, mem, $2, rep, h[i], $i
		}' "$ecsv"
	[ -f "$kcsv" ] && awk -F, 'NR > 1 {
		split($1, t, ".")
		lru = t[1] == "damon" ? "damon" : t[2]
		printf "calls,%s,%s,both,%s,clear_young,%s\n", lru, $2, $3, $4
		printf "calls,%s,%s,both,%s,clear_flush_young,%s\n", lru, $2, $3, $5
		printf "calls,%s,%s,both,%s,test_young,%s\n", lru, $2, $3, $6
		printf "calls,%s,%s,both,%s,inc_max_seq,%s\n", lru, $2, $3, $7
		printf "calls,%s,%s,both,%s,lru_gen_look_around,%s\n", lru, $2, $3, $8
	}' "$kcsv"
	[ -f "$ccsv" ] && awk -F, 'NR > 1 {
		printf "cost,-,-,%s,%s,ib_read_bw_odp_%s_mibps,%s\n",
			$1 == "Y" ? "on" : "off", $2, '"$size"', $3
	}' "$ccsv"
} > "$out/aging.csv"

# The values of rows matching kind, lru, mem ("" for any), aging, metric.
vals() {	# kind lru mem aging metric
	awk -F, -v k="$1" -v l="$2" -v m="$3" -v a="$4" -v x="$5" \
		'$1 == k && $2 == l && (m == "" || $3 == m) && $4 == a && $6 == x { print $7 }' \
		"$out/aging.csv"
}
med() {	# kind lru mem aging metric: the median
	vals "$@" | sort -g | awk '{ v[NR] = $1 }
		END { if (!NR) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2];
			else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
all() {	# kind lru mem aging metric: every round's value
	vals "$@" | paste -sd/ | sed 's/^$/n\/a/'
}
sum() {	# kind lru mem aging metric: the sum over rounds
	vals "$@" | awk '{ s += $1 } END { print NR ? s : "n/a" }'
}
ratio() {	# num den: num / max(den, 1)
	awk -v n="$1" -v d="$2" 'BEGIN {
		if (n == "n/a" || d == "n/a") { print "n/a"; exit }
		printf "%.1f", n / (d > 0 ? d : 1) }'
}

{
	echo "# Device accessed bits and page aging"
	echo
	echo "Command: \`$cmdline\` (effect: $reps round(s) per regime" \
		"memory.max/measured passes $regimes, 2 vCPUs; cost: $creps" \
		"rounds, --icount)"
	echo
	echo "## Effect: refaults of the device-read hot set"
	echo
	echo "Refaults = odp_pages_faulted delta + the process's major faults over" \
		"the measured passes, every round (r1/r2/...); off/on is the ratio" \
		"of the sums over rounds.  workingset_refault_anon: the" \
		"cgroup's count over the same passes (pages read back after" \
		"eviction), the only figure that counts the CPU reader's" \
		"refaults and the device's alike.  CPU reader: the control, the" \
		"CPU reading the hot set where the device would, aging of no" \
		"consequence.  Setup: see tests/rxe_odp_aging.c."
	for r in $regimes; do
		m=${r%/*}
		echo
		echo "### memory.max $m MiB, ${r#*/} measured passes"
		echo
		echo "| LRU | reader | aging | refaults | workingset_refault_anon | odp_young (median) | s (median) | off/on (refaults) |"
		echo "|---|---|---|---|---|---|---|---|"
		for l in mglru classic; do
			off=$(sum effect $l "$m" off refaults)
			on=$(sum effect $l "$m" on refaults)
			for a in off on; do
				echo "| $l | device | $a | $(all effect $l "$m" $a refaults) |" \
					"$(all effect $l "$m" $a ws_refault_measured) |" \
					"$(med effect $l "$m" $a odp_young) |" \
					"$(med effect $l "$m" $a secs) |" \
					"$([ $a = on ] && ratio "$off" "$on") |"
			done
			c=$l-cpu-reader
			[ "$(med effect $c "$m" on passes)" = n/a ] ||
				echo "| $l | CPU (control) | - | $(all effect $c "$m" on refaults) |" \
					"$(all effect $c "$m" on ws_refault_measured) | - |" \
					"$(med effect $c "$m" on secs) | |"
		done
		echo
		for l in mglru classic; do
			q=$(ratio "$(sum effect $l "$m" off refaults)" "$(sum effect $l "$m" on refaults)")
			echo "- $l: aging off/on = $q;" \
				"10x target $(awk -v r="$q" 'BEGIN { print (r != "n/a" && r >= 10) ? "reached" : "NOT reached" }');" \
				"CPU reader: $(sum effect $l-cpu-reader "$m" on refaults) refaults" \
				"against the device's $(sum effect $l "$m" on refaults) with aging on" \
				"(workingset_refault_anon $(sum effect $l-cpu-reader "$m" on ws_refault_measured)" \
				"against $(sum effect $l "$m" on ws_refault_measured))."
		done
		echo
		echo "Per measured pass, round 1, the first 64 passes (refaults/ms:"
		echo "odp_pages_faulted, for the CPU reader its major faults; bursts"
		echo "are the hot set being evicted and faulted back):"
		echo
		echo '```'
		for t in aging.mglru.hot_set_under_pressure aging.classic.hot_set_under_pressure; do
			f=$out/aging-effect-run/aging-$t-m$m-1.log
			[ -f "$f" ] && sed -n 's/^# .*hot_set_under_pressure:\(.* aging .*per pass:.*\)/\1/p' "$f"
		done
		echo '```'
	done
	echo
	echo "## Which callbacks page aging called (kprobe hits, per test: aging off, on and the control; medians)"
	echo
	echo "| test | memory.max | clear_young | clear_flush_young | test_young | MGLRU inc_max_seq | MGLRU lru_gen_look_around |"
	echo "|---|---|---|---|---|---|---|"
	for l in mglru classic damon; do
		for r in $regimes; do
			m=${r%/*}
			[ $l = damon ] && m=${regimes%%/*}
			echo "| $l | $([ $l = damon ] && echo - || echo "$m") |" \
				"$(med calls $l "$m" both clear_young) |" \
				"$(med calls $l "$m" both clear_flush_young) |" \
				"$(med calls $l "$m" both test_young) |" \
				"$(med calls $l "$m" both inc_max_seq) |" \
				"$(med calls $l "$m" both lru_gen_look_around) |"
			[ $l = damon ] && break
		done
	done
	echo
	echo "## DAMON (vaddr): highest nr_accesses per aggregation"
	echo
	echo "| aging | hot set | untouched cold range |"
	echo "|---|---|---|"
	for a in off on; do
		echo "| $a | $(all damon damon "" $a damon_hot) | $(all damon damon "" $a damon_cold) |"
	done
	echo
	echo "## Cost: warm ib_read_bw --odp, $size bytes, ${dur} s, --icount"
	echo
	m="ib_read_bw_odp_${size}_mibps"
	y=$(med cost - - on "$m")
	n=$(med cost - - off "$m")
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
