#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
#
# RDMA WRITE and READ bandwidth into a dma-buf MR (udmabuf, the system
# dma-heap, a vgem dumb buffer) against an ordinary pinned MR and an ODP
# MR, in one VM boot.
#
#   bench/dmabuf.sh [-r REPS] [-s MSG] [-t TOTAL] [--no-icount]
#
# Boots the guest with an instruction-counted clock (--icount, one vCPU)
# so that figures repeat across runs, loads vgem, and runs build/tests/
# dmabuf_bw (bench/dmabuf_bw.c): REPS rounds (default 5) over the kinds,
# the order rotating between rounds, TOTAL bytes (default 64m) per pass in
# MSG-byte operations (default 64k), 16 in flight, every pass verified.
# Reports the medians and their ratio to pinned in build/bench/dmabuf.md
# (and .csv).  Prints, never judges.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

reps=5 msg=64k total=64m icount=--icount
while [ $# -gt 0 ]; do
	case $1 in
	-r) reps=$2; shift 2 ;;
	-s) msg=$2; shift 2 ;;
	-t) total=$2; shift 2 ;;
	--no-icount) icount=; shift ;;
	*) echo "usage: $0 [-r REPS] [-s MSG] [-t TOTAL] [--no-icount]" >&2
	   exit 2 ;;
	esac
done

out=$top/build/bench
run=$out/dmabuf-run
kinds="pinned odp udmabuf heap vgem"
mkdir -p "$out"
[ -x "$top/build/tests/dmabuf_bw" ] ||
	{ echo "build/tests/dmabuf_bw missing: run make" >&2; exit 1; }
"$top/scripts/vm.sh" -t 3600 -o "$run" $icount -- sh -c \
	"modprobe vgem && build/tests/dmabuf_bw -r $reps -s $msg -t $total $kinds > /mnt/run/dmabuf.csv"
csv=$out/dmabuf.csv
cp "$run/dmabuf.csv" "$csv"

# Median of the rows of workload $1 and kind $2.
med() {
	awk -F, -v w="$1" -v k="$2" '$1 == w && $3 == k { print $4 }' "$csv" |
		sort -g | awk '{ v[NR] = $1 } END { if (!NR) print "n/a";
			else if (NR % 2) print v[(NR + 1) / 2];
			else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ratio() {
	awk -v a="$1" -v b="$2" \
		'BEGIN { if (b + 0 > 0) printf "%.3f", a / b; else print "n/a" }'
}
{
	echo "Command: bench/dmabuf.sh -r $reps -s $msg -t $total" \
		"${icount:-(no icount)}; target MR of each kind (16 MiB), local" \
		"side pinned; median of $reps, MiB/s"
	echo
	echo "| target MR | WRITE MiB/s | WRITE / pinned | READ MiB/s | READ / pinned |"
	echo "|---|---|---|---|---|"
	pw=$(med dmabuf_write pinned)
	pr=$(med dmabuf_read pinned)
	for k in $kinds; do
		w=$(med dmabuf_write "$k")
		r=$(med dmabuf_read "$k")
		echo "| $k | $w | $(ratio "$w" "$pw") | $r | $(ratio "$r" "$pr") |"
	done
} | tee "$out/dmabuf.md"
