#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
#
# Guest half of bench/aging.sh.  Rows go to $RXE_ODP_OUT/aging-*.csv.
#
#   bench/guest-aging.sh effect REPS MEM/PASSES...
#	REPS rounds of tests/rxe_odp_aging, for each MEM/PASSES (the child
#	cgroup's memory.max in MiB and the measured passes) aging off then
#	on and the CPU-reader control, under MGLRU and under the classic
#	LRU; plus the DAMON observation once per round.  Each test's rows
#	are appended by the program itself to aging-effect.csv; the calls
#	of the three aging callbacks (and of two MGLRU functions) are
#	counted with kprobes per test, to aging-calls.csv.
#   bench/guest-aging.sh cost REPS SIZE SECONDS
#	REPS rounds of ib_read_bw --odp, one with odp_aging=Y and one with
#	odp_aging=N each (alternating which goes first), to aging-cost.csv.
out=${RXE_ODP_OUT:-/tmp}
param=/sys/module/rdma_rxe/parameters/odp_aging
mode=$1
shift

effect() {	# reps mem/passes...
	local reps=$1 rep t T=/sys/kernel/tracing f sym regime mem tests
	shift
	export RXE_ODP_AGING_CPU_CONTROL=1
	bin=${RXE_ODP_TESTBIN:-build/tests}/rxe_odp_aging
	csv=$out/aging-effect.csv calls=$out/aging-calls.csv

	# Count the callbacks' calls: kprobes whose filter drops every event
	# (the hit count in kprobe_profile still moves), tracing off.
	# Also two MGLRU functions: inc_max_seq (one aging step: a new
	# generation, with a page table walk) and lru_gen_look_around
	# (eviction-time look-around), where the kernel has them as symbols.
	mountpoint -q $T || mount -t tracefs tracefs $T 2>/dev/null
	for f in clear_young clear_flush_young test_young; do
		echo "p:ag_$f rdma_rxe:rxe_odp_mn_$f" >> $T/kprobe_events
	done
	for f in inc_max_seq lru_gen_look_around; do
		# The symbol may carry a suffix (inc_max_seq.isra.0).
		sym=$(awk -v f="$f" '$3 == f || index($3, f ".") == 1 { print $3; exit }' \
			/proc/kallsyms)
		[ -n "$sym" ] && echo "p:ag_$f $sym" >> $T/kprobe_events
	done
	for f in "$T"/events/kprobes/ag_*; do
		echo 'common_pid < 0' > "$f/filter"
		echo 1 > "$f/enable"
	done
	echo 0 > $T/tracing_on 2>/dev/null
	hits() { awk -v e="ag_$1" '$1 == e { print $2 }' $T/kprobe_profile; }
	# The columns of aging-calls.csv after test,mem,rep.
	probes="clear_young clear_flush_young test_young inc_max_seq lru_gen_look_around"

	rm -f "$csv"
	echo "test,mem,rep,${probes// /,}" > "$calls"
	for rep in $(seq 1 "$reps"); do
		# DAMON does not depend on memory.max: once per round.
		tests="aging.mglru.hot_set_under_pressure aging.classic.hot_set_under_pressure damon.sees_device_reads"
		for regime in "$@"; do
			mem=${regime%/*}
			export RXE_ODP_AGING_MEM_MIB=$mem RXE_ODP_AGING_PASSES=${regime#*/}
			for t in $tests; do
				one "$t" "$mem" "$rep"
			done
			tests="aging.mglru.hot_set_under_pressure aging.classic.hot_set_under_pressure"
		done
	done
}

# One test run, its log and its kprobe hit counts.
one() {	# test mem rep
	local f n0=() n1=() row log=$out/aging-$1-m$2-$3.log

	for f in $probes; do
		n0+=("$(hits $f)")
	done
	RXE_ODP_AGING_CSV=$csv "$bin" -r "$1" > "$log" 2>&1
	echo "$1 memory.max $2: exit $?" | tee -a "$log"
	grep -E '^# .*(refaults|per pass|DAMON)|^(not )?ok ' "$log" |
		sed 's/^# [^ ]*:[0-9]*:[a-z_]*://'
	for f in $probes; do
		n1+=("$(hits $f)")
	done
	row="$1,$2,$3"
	for f in 0 1 2 3 4; do
		row="$row,$((${n1[f]:-0} - ${n0[f]:-0}))"
	done
	echo "$row" | tee -a "$calls"
}

# One ib_read_bw --odp run; prints the average MiB/s, retrying perftest's
# 0.00 (clock calibration under emulation) on a fresh port.
bw() {	# size seconds
	local port v _
	for _ in 1 2 3; do
		port=$((20000 + RANDOM % 10000))
		timeout 120 ib_read_bw -d rxe0 -p $port -F --odp -s "$1" -D "$2" \
			> /tmp/server.out 2>&1 &
		sleep 1
		v=$(timeout 120 ib_read_bw -d rxe0 -p $port -F --odp -s "$1" \
			-D "$2" localhost 2>&1 |
			awk '/^ *[0-9]+ +[0-9]+ / { print $4 }')
		wait
		if [ -n "$v" ] && awk -v v="$v" 'BEGIN { exit !(v > 0) }'; then
			echo "$v"
			return 0
		fi
	done
	echo 0
}

cost() {	# reps size seconds
	local reps=$1 size=$2 dur=$3 rep a v saved
	local csv=$out/aging-cost.csv

	saved=$(cat $param)
	echo "aging,rep,mibps" > "$csv"
	for rep in $(seq 1 "$reps"); do
		# Alternate which setting goes first, so neither gains from order.
		for a in $([ $((rep % 2)) = 1 ] && echo "Y N" || echo "N Y"); do
			echo "$a" > $param
			v=$(bw "$size" "$dur")
			echo "$a,$rep,$v" | tee -a "$csv"
		done
	done
	echo "$saved" > $param
}

case $mode in
effect) effect "$@" ;;
cost) cost "$@" ;;
*) echo "usage: $0 effect REPS MEM/PASSES... | cost REPS SIZE SECONDS" >&2; exit 2 ;;
esac
