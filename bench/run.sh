#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
#
# The benchmark suite, ours against the upstream anchor, one VM boot each.
#
#   bench/run.sh [options] [KEY=VALUE...]
#
# Options:
#   --only ours|upstream  run one kernel only (the report keeps the other's
#                   last CSV if there is one)
#   --quick         a smoke run: one repetition, one size per workload
#   --no-icount     multi-threaded TCG (faster, but figures do not repeat)
#   -m MIB          guest memory (default 3072)
#   -t SEC          time bound of each boot (default 2400)
#   -o DIR          results directory (default bench/results)
#   --report-only   redo the report from the CSVs in the results directory
#
# KEY=VALUE settings go to bench/guest-bench.sh (reps=, groups=, bw_sizes=,
# ...; its head lists them with their defaults).
#
# Boot 1: the root's Debian 13 kernel with our rdma_rxe.ko (make first).
# Boot 2: trixie-backports' 7.x kernel (bench/get-upstream-kernel.sh) and
# its stock rdma_rxe, same root, same programs, same settings.  Both under
# `scripts/vm.sh --icount`: one vCPU, instruction-counted clock, so figures
# repeat within a few percent; ratios are taken within one boot.
#
# Output in the results directory: ours.csv, upstream.csv (raw rows),
# ours.log, upstream.log (settings, counters), ratios.csv, bench.md (the
# tables, with this command line) and bench-*.png.
set -euo pipefail
. "$(dirname "$0")/../scripts/common.sh"

only= quick= icount=--icount mem=3072 tmo=2400 res=$TOP/bench/results report_only=
modid=
cmdline="bench/run.sh${*:+ $*}"
while [ $# -gt 0 ]; do
	case $1 in
	--only) only=$2; shift 2 ;;
	--quick) quick=1; shift ;;
	--no-icount) icount=; shift ;;
	-m) mem=$2; shift 2 ;;
	-t) tmo=$2; shift 2 ;;
	-o) res=$2; shift 2 ;;
	--report-only) report_only=1; shift ;;
	-h|--help) sed -n '3,30p' "$0"; exit 0 ;;
	-*) die "run.sh: unknown option $1" ;;
	*) break ;;
	esac
done
settings=("$@")
if [ -n "$quick" ]; then
	settings=(reps=1 bw_sizes=65536 bw_bytes=16m lat_sizes=64 qp_counts=1,4
		qp_iters=100 cold_sizes=65536 reg_sizes=4k,1g inval_size=256m
		swap_region=64m swap_limit=32m "${settings[@]}")
fi
mkdir -p "$res"

if [ -z "$report_only" ]; then
	command -v gnuplot >/dev/null ||
		log "no gnuplot on the host (apt-get install gnuplot-nox): no plots"
	"$TOP/bench/build.sh"
	for k in ours upstream; do
		[ -z "$only" ] || [ "$only" = "$k" ] || continue
		kopt=()
		if [ $k = upstream ]; then
			kopt=(--kernel-dir "$("$TOP/bench/get-upstream-kernel.sh")")
		else
			[ -f "$TOP/rdma_rxe.ko" ] || die "rdma_rxe.ko not built; run make"
		fi
		run=$BUILD/bench/run-$k
		[ $k = ours ] && modid="module: rdma_rxe.ko sha1 $(sha1sum < "$TOP/rdma_rxe.ko" | cut -c1-12), built $(date -r "$TOP/rdma_rxe.ko" '+%F %T'), tree at git $(git -C "$TOP" rev-parse --short HEAD)$(
			git -C "$TOP" diff --quiet HEAD -- drivers include patches || echo '+dirty')"
		log "benchmarks on $k (log: $run/console.log)"
		rc=0
		"$TOP/scripts/vm.sh" -t "$tmo" -m "$mem" $icount -o "$run" \
			"${kopt[@]}" -- bench/guest-bench.sh "${settings[@]}" || rc=$?
		[ -s "$run/bench.csv" ] || die "$k: no results (vm.sh exit $rc)"
		[ $rc = 0 ] || log "WARNING: $k: vm.sh exit $rc; keeping partial results"
		cp "$run/bench.csv" "$res/$k.csv"
		{
			cat "$run/bench.log"
			[ $k = ours ] && echo "$modid"
			grep -E 'rxe|odp|WARNING|BUG' "$run/dmesg.txt" | grep -v 'taints kernel' |
				sed 's/^/dmesg: /' | tail -n 20
		} > "$res/$k.log"
	done
fi
# The command that measured stays the one the tables name.
if [ -z "$report_only" ]; then
	echo "$cmdline" > "$res/command.txt"
elif [ -f "$res/command.txt" ]; then
	cmdline="$(cat "$res/command.txt") (tables redone by $cmdline)"
fi
python3 "$TOP/bench/report.py" --cmd "$cmdline" "$res" > /dev/null
log "report: $res/bench.md"
