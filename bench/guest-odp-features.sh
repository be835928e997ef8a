#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
#
# Guest half of bench/odp-features.sh: REPS rounds over the configurations
# below (the order reversed every other round), each one run of odp_cold
# (a cold and a warm pass), appending to odp-features.csv:
#   config,buffer,fault_around_kb,odp_huge,rep,pass,mibps,page_faults,pages_faulted,thp_kb
reps=${1:-3}
bin=${RXE_ODP_TESTBIN:-build/tests}/odp_cold
csv=${RXE_ODP_OUT:-/tmp}/odp-features.csv
P=/sys/module/rdma_rxe/parameters

# name:buffer:fault_around_kb:odp_huge
configs=(4k-fa0:4k:0:Y 4k-fa64:4k:64:Y 4k-fa2048:4k:2048:Y
	 thp-huge:thp:64:Y thp-nohuge:thp:64:N)

fa_saved=$(cat "$P"/odp_fault_around_kb)
huge_saved=$(cat "$P"/odp_huge)
# shellcheck disable=SC2317 # invoked by the EXIT trap
restore() {
	echo "$fa_saved" > "$P"/odp_fault_around_kb
	echo "$huge_saved" > "$P"/odp_huge
}
trap restore EXIT

echo "# THP: $(cat /sys/kernel/mm/transparent_hugepage/enabled)," \
	"defrag: $(cat /sys/kernel/mm/transparent_hugepage/defrag)"
echo "# $(grep MemFree /proc/meminfo)"
echo "config,buffer,fault_around_kb,odp_huge,rep,pass,mibps,page_faults,pages_faulted,thp_kb" > "$csv"
rc=0
for rep in $(seq 1 "$reps"); do
	order=("${configs[@]}")
	if [ $((rep % 2)) = 0 ]; then
		order=()
		for ((i = ${#configs[@]} - 1; i >= 0; i--)); do
			order+=("${configs[i]}")
		done
	fi
	for c in "${order[@]}"; do
		IFS=: read -r name buf fa huge <<< "$c"
		echo "$fa" > "$P"/odp_fault_around_kb || exit 1
		echo "$huge" > "$P"/odp_huge || exit 1
		opt=
		[ "$buf" = thp ] && opt=-t
		# shellcheck disable=SC2086
		if ! out=$(timeout 600 "$bin" $opt); then
			echo "# $name rep $rep: odp_cold failed"
			rc=1
			continue
		fi
		while IFS=, read -r pass rest; do
			echo "$name,$buf,$fa,$huge,$rep,$pass,$rest" | tee -a "$csv"
		done <<< "$out"
	done
done
exit $rc
