#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
#
# ODP vs pinned bandwidth across a virtual link: two QEMU guests (see
# scripts/check-2host.sh), one boot pair for every figure.
#
#   bench/two-host.sh [-r REPS] [-s SIZE] [-n ITERS] [-m MIB] [-o FILE]
#
# Both guests run the built rdma_rxe.ko, rxe0 on eth0 (MTU 1500, path MTU
# 1024), 1 vCPU each.  Guest b serves, guest a is the perftest client.
# Every rep runs ib_write_bw, ib_read_bw and ib_send_bw (SIZE bytes,
# ITERS iterations, default 65536 x 1000 = 64 MiB) in four memory modes:
# pinned, --odp on both, on the server only, on the client only; the mode
# order rotates from rep to rep.  The figure is the client's BW average.
#
# The clock is the wall clock: --icount gives each guest its own
# instruction-counted clock that jumps ahead whenever that guest idles,
# which it does while it waits for the other one, so a time measured
# across the link would mean nothing.  Both guests share the host's 2
# cores with whatever else runs; the ratios within one rep are what
# counts, and the table shows the spread over reps.
#
# Results: build/bench/two-host/two-host.csv (test,mode,rep,MiB/s) and the
# markdown table, also written to FILE (default bench/results/two-host.md).
set -uo pipefail
. "$(dirname "$0")/../scripts/common.sh"
. "$TOP/scripts/two-host-lib.sh"

reps=5 size=65536 iters=1000 mem=1024 md=$TOP/bench/results/two-host.md
cmdline="bench/two-host.sh${*:+ $*}"
while [ $# -gt 0 ]; do
	case $1 in
	-r) reps=$2; shift 2 ;;
	-s) size=$2; shift 2 ;;
	-n) iters=$2; shift 2 ;;
	-m) mem=$2; shift 2 ;;
	-o) md=$2; shift 2 ;;
	-h|--help) sed -n '3,26p' "$0"; exit 0 ;;
	*) die "two-host.sh: unknown option $1" ;;
	esac
done
[ -f "$TOP/rdma_rxe.ko" ] || die "rdma_rxe.ko not built; run make"

out=$BUILD/bench/two-host
csv=$out.csv
TH_VM_a=(-s 1 -m "$mem")
TH_VM_b=(-s 1 -m "$mem")
mkdir -p "$RXE_ODP_CACHE"
exec 7> "$RXE_ODP_CACHE/vm.lock"
flock 7
th_init "$out"
csv=$out/two-host.csv
th_boot || { th_shutdown; die "the guests did not come up"; }
modid="rdma_rxe.ko sha1 $(sha1sum < "$TOP/rdma_rxe.ko" | cut -c1-12), tree at git $(git -C "$TOP" rev-parse --short HEAD)"

echo "test,mode,rep,mibps" > "$csv"
modes=(pinned odp_both odp_server odp_client)
# bw runs in a subshell ($(...)): its port comes from its arguments.
bw() {	# tool mode base-port: prints MiB/s, or nothing
	local tool=$1 mode=$2 port=$3 se='' ce='' i v
	case $mode in
	odp_both) se=--odp ce=--odp ;;
	odp_server) se=--odp ;;
	odp_client) ce=--odp ;;
	esac
	for i in 1 2 3; do
		port=$((port + 1))
		th_alive a && th_alive b || return
		th_pair b $port "$tool -d \$DEV -p $port -F -s $size -n $iters -x \$(gid_index) $se" \
			a "perf_client $tool -d \$DEV -p $port -F -s $size -n $iters -x \$(gid_index) $ce $TH_IP_b" \
			300 > "$out/logs/$tool-$mode-$rep.log" 2>&1
		v=$(awk '/^--- server/ { exit } /^ *[0-9]+ +[0-9]+ / { print $4 }' \
			"$out/logs/$tool-$mode-$rep.log")
		if [ -n "$v" ] && awk -v v="$v" 'BEGIN { exit !(v > 0) }'; then
			echo "$v"
			return
		fi
		[ -z "$TH_BAD" ] || return
		log "$tool $mode rep $rep: attempt $i gave no figure ($out/logs/$tool-$mode-$rep.log)"
	done
}
dead=
for rep in $(seq 1 "$reps"); do
	ti=0
	for tool in ib_write_bw ib_read_bw ib_send_bw; do
		ti=$((ti + 1))
		for k in 0 1 2 3; do
			mode=${modes[$(((k + rep - 1) % 4))]}
			v=$(bw "$tool" "$mode" $((19000 + rep * 100 + ti * 20 + k * 4)))
			echo "$tool,$mode,$rep,${v:-0}" | tee -a "$csv"
			for g in a b; do
				th_alive $g && continue
				dead="guest $g died during $tool $mode rep $rep"
				log "$dead"
				break 4
			done
		done
	done
done
th_run a 30 'counters | grep odp_' > "$out/counters-a.txt"
th_run b 30 'counters | grep odp_' > "$out/counters-b.txt"
if [ -n "$dead" ]; then
	g=${dead#guest }
	g=${g%% *}
	th_console_tail "$g" 60 > "$out/dead-console.txt"
fi
th_shutdown
th_dmesg_check > "$out/dmesg-check.txt"
cat "$out/dmesg-check.txt"

# Medians per test and mode, each mode's ratio to pinned, and the spread.
{
	echo "# Two hosts: ODP vs pinned across the link"
	echo
	echo "Command: \`$cmdline\` ($(date -u '+%F %H:%M UTC'))."
	echo "Module: $modid, on both guests."
	echo "Guests: 1 vCPU, $mem MiB each, multi-threaded TCG on a 2-core host shared with"
	echo "other VMs; rxe0 on eth0 (virtio-net, QEMU socket netdev on 127.0.0.1), MTU $TH_MTU, path MTU 1024."
	echo "Each figure: perftest's BW average (MiB/sec) on the client (guest a; guest b serves),"
	echo "$size-byte messages, $iters iterations; median of $reps reps; **wall clock**"
	echo "(no --icount: each guest would run on its own instruction clock, which jumps ahead while"
	echo "it waits for the other, so times across the link would mean nothing)."
	echo
	echo "| test | pinned | ODP both | ODP server | ODP client | both/pinned | server/pinned | client/pinned |"
	echo "|---|---|---|---|---|---|---|---|"
	for t in ib_write_bw ib_read_bw ib_send_bw; do
		med() {
			awk -F, -v t="$t" -v m="$1" '$1 == t && $2 == m && $4 > 0 { print $4 }' "$csv" |
				sort -g | awk '{ v[NR] = $1 } END { if (!NR) print 0; else if (NR % 2) print v[(NR + 1) / 2];
					else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
		}
		p=$(med pinned) b=$(med odp_both) s=$(med odp_server) c=$(med odp_client)
		r() { awk -v p="$p" -v o="$1" 'BEGIN { if (p > 0 && o > 0) printf "%.2f", o / p; else print "n/a" }'; }
		echo "| $t | $p | $b | $s | $c | $(r "$b") | $(r "$s") | $(r "$c") |"
	done
	echo
	echo "Spread (min-max over reps, MiB/sec):"
	echo
	echo "| test | pinned | ODP both | ODP server | ODP client |"
	echo "|---|---|---|---|---|"
	for t in ib_write_bw ib_read_bw ib_send_bw; do
		row="| $t |"
		for m in "${modes[@]}"; do
			row="$row $(awk -F, -v t="$t" -v m="$m" '$1 == t && $2 == m {
				if (n++ == 0 || $4 < lo) lo = $4; if ($4 > hi) hi = $4 }
				END { printf "%s-%s", lo, hi }' "$csv") |"
		done
		echo "$row"
	done
	echo
	echo "ODP counters at the end (guest a, the client; guest b, the server):"
	echo
	echo '```'
	sed 's/^/a: /' "$out/counters-a.txt" | grep -v '^a: *$'
	sed 's/^/b: /' "$out/counters-b.txt" | grep -v '^b: *$'
	echo '```'
	echo
	if [ -n "$dead" ]; then
		echo "**Incomplete: $dead** (0 = no figure; medians skip those). Its console tail:"
		echo
		echo '```'
		grep -E 'BUG|Oops|RIP|panic|Call Trace|^ *\[.*\]  [a-z_]+\+0x' "$out/dead-console.txt" | head -n 30
		echo '```'
		echo
	fi
	echo "Kernel logs: $(grep -E '^(PASS|FAIL)' "$out/dmesg-check.txt")."
	echo "Raw rows: build/bench/two-host/two-host.csv (copied below)."
	echo
	echo '```'
	cat "$csv"
	echo '```'
} > "$out/two-host.md"
mkdir -p "$(dirname "$md")"
cp "$out/two-host.md" "$md"
cat "$md"
