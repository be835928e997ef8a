#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
#
# Guest half of bench/perftest-odp.sh: REPS rounds, each running every test
# pinned then with --odp, appending "test,mode,rep,MiB/s" to the CSV.
reps=$1 size=$2 dur=$3
csv=${RXE_ODP_OUT:-/tmp}/perftest-odp.csv
echo "test,mode,rep,mibps" > "$csv"

# One perftest run; prints BW average (MiB/s), retrying perftest's 0.00.
bw() {	# tool extra-args
	local tool=$1 extra=$2 port i v
	for i in 1 2 3; do
		port=$((20000 + RANDOM % 10000))
		# shellcheck disable=SC2086
		timeout 120 "$tool" -d rxe0 -p $port -F -s "$size" -D "$dur" $extra \
			> /tmp/server.out 2>&1 &
		sleep 1
		# shellcheck disable=SC2086
		v=$(timeout 120 "$tool" -d rxe0 -p $port -F -s "$size" -D "$dur" \
			$extra localhost 2>&1 | awk '/^ *[0-9]+ +[0-9]+ / { print $4 }')
		wait
		if [ -n "$v" ] && awk -v v="$v" 'BEGIN { exit !(v > 0) }'; then
			echo "$v"
			return 0
		fi
	done
	echo 0
}

for rep in $(seq 1 "$reps"); do
	for t in ib_write_bw ib_read_bw ib_send_bw; do
		# Alternate which mode goes first, so neither gains from order.
		modes="pinned odp"
		[ $((rep % 2)) = 0 ] && modes="odp pinned"
		for mode in $modes; do
			extra=
			[ $mode = odp ] && extra=--odp
			v=$(bw "$t" "$extra")
			echo "$t,$mode,$rep,$v" | tee -a "$csv"
		done
	done
done
