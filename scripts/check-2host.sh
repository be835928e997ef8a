#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
#
# make check-2host: two QEMU guests on a virtual link, each with rxe0 on
# its own eth0; verified transfers, perftest and the RDMA CM tools between
# them, ODP on either side and both, then the same with loss, delay and
# reordering on the link.  Ends with "N passed, N failed".
#
#   scripts/check-2host.sh [--peer ours|stock|upstream] [--no-peer-odp]
#                          [--no-loss] [--only REGEX] [-m MIB] [-o DIR] [-t SEC]
#                          [--debug] [--append KERNEL-ARGS]
#
# Guest a (10.77.0.1) always runs the built rdma_rxe.ko.  Guest b
# (10.77.0.2) runs it too (--peer ours, the default), or Debian's stock 6.12
# rdma_rxe (--peer stock: no ODP there, its ODP steps are skipped, saying
# so), or the upstream 7.x kernel's rxe (--peer upstream; the kernel from
# bench/get-upstream-kernel.sh, or the directory in $RXE_2H_UPSTREAM).
# --no-peer-odp keeps guest b's memory pinned (skipping the steps that
# need ODP there): ODP on our side only.  --debug boots both guests on the
# debug kernel that make check-debug built last (lockdep, KASAN,
# DEBUG_PAGEALLOC; $RXE_ODP_CACHE/debug-kernel/kdir, our module in it).
# --append adds kernel arguments to both guests (e.g. slub_debug=FZP).
#
# Steps (each PASS, FAIL or SKIP with the reason; logs in DIR/logs):
#   xfer_*      tests/rxe_odp_2host: RDMA WRITE, READ, SEND and atomics over
#               4 MiB, 3 rounds, every byte compared, pinned or ODP on each
#               side (ODP sides drop their pages before each test so the
#               device faults them again; -F: our module must count faults)
#   pingpong_*  ibv_rc_pingpong --odp --chk
#   perf_*      ib_write_bw, ib_read_bw, ib_send_bw with --odp on the
#               server, the client, or both
#   cm_*        rping -V (validates the data), ucmatose, perftest -R
#   loss_*      netem loss 2%, delay 3 ms, 10% reordered on guest a's eth0
#               during ODP transfers in both directions: complete, intact,
#               and netem did drop packets
#   zero_pages  (always) untouched anonymous memory reads as zeros on both
#   dmesg_clean both kernel logs free of warnings, BUGs, lockdep reports
# A failure prints the step's log tail and both guests' dmesg tails.
#
# Two guests of 1 vCPU and 1 GiB each, under vm.sh's locks 2host-a and
# 2host-b; the whole run holds $RXE_ODP_CACHE/vm.lock like a single guest.
set -uo pipefail
. "$(dirname "$0")/common.sh"
. "$TOP/scripts/two-host-lib.sh"

peer=ours loss=1 only=. mem=1024 out=$BUILD/vm/2host peer_odp=1 debug= kargs=
while [ $# -gt 0 ]; do
	case $1 in
	--peer) peer=$2; shift 2 ;;
	--no-loss) loss=; shift ;;
	--no-peer-odp) peer_odp=; shift ;;
	--debug) debug=1; shift ;;
	--append) kargs=$2; shift 2 ;;
	--only) only=$2; shift 2 ;;
	-m) mem=$2; shift 2 ;;
	-o) out=$2; shift 2 ;;
	-t) TH_TMO=$2; shift 2 ;;
	-h|--help) sed -n '3,41p' "$0"; exit 0 ;;
	*) die "check-2host.sh: unknown option $1" ;;
	esac
done

TH_VM_a=(-s 1 -m "$mem")
TH_VM_b=(-s 1 -m "$mem")
if [ -n "$debug" ]; then
	dkd=$RXE_ODP_CACHE/debug-kernel/kdir
	[ -d "$dkd/boot" ] || die "no debug kernel in $dkd: run make check-debug once"
	[ "$peer" = ours ] || die "--debug runs our module on both guests"
	# The boot options of check-debug.sh, which says why.
	kargs="no5lvl pci=noacpi $kargs"
	TH_VM_a+=(--kernel-dir "$dkd")
	TH_VM_b+=(--kernel-dir "$dkd")
fi
if [ -n "$kargs" ]; then
	TH_VM_a+=(--append "$kargs")
	TH_VM_b+=(--append "$kargs")
fi
# ODP options of rxe_odp_2host per guest ("" = this side cannot do ODP);
# -F (faults must be counted) where our module's counters exist.
odp_a="-o -F" odp_b="-o -F" impl_b="-i -F" peer_desc="the built rdma_rxe.ko"
case $peer in
ours) ;;
stock)
	TH_VM_b+=(--stock)
	odp_b='' impl_b='' peer_desc="Debian's stock $(root_kver) rdma_rxe (no ODP)" ;;
upstream)
	kdir=${RXE_2H_UPSTREAM:-$("$TOP/bench/get-upstream-kernel.sh")} ||
		die "no upstream kernel (bench/get-upstream-kernel.sh)"
	TH_VM_b+=(--kernel-dir "$kdir")
	odp_b="-o" impl_b="-i"
	peer_desc="the rdma_rxe of $(ls "$kdir/lib/modules")" ;;
*) die "--peer ours, stock or upstream" ;;
esac
if [ -z "$peer_odp" ]; then
	odp_b='' impl_b=''
	peer_desc="$peer_desc, pinned memory only (--no-peer-odp)"
fi
[ -f "$TOP/rdma_rxe.ko" ] || die "rdma_rxe.ko not built; run make"
[ -x "$BUILD/tests/rxe_odp_2host" ] || die "build/tests/rxe_odp_2host not built; run make"

mkdir -p "$RXE_ODP_CACHE"
exec 7> "$RXE_ODP_CACHE/vm.lock"
log "waiting for $RXE_ODP_CACHE/vm.lock"
flock 7

th_init "$out"
echo "# two hosts: a $TH_IP_a with the built rdma_rxe.ko, b $TH_IP_b with $peer_desc; mtu $TH_MTU"
if ! th_boot; then
	echo "FAIL boot: the guests did not come up"
	th_shutdown
	echo "0 passed, 1 failed"
	exit 1
fi

port=18600
next_port() { port=$((port + 1)); }
# QP ACK timeout 2^18 x 4.096 us (1.07 s) instead of the usual 14 (67 ms):
# on this shared 2-core host a guest can stall for a second, and every
# spurious retransmission is a chance for the 6.12 rxe retransmission bug
# (a multi-packet SEND landing in the next receive WQE, then RNR NAKs
# forever; Debian's stock rdma_rxe has it too) to fail a step that is not
# about loss.  The loss steps use 16 (268 ms).
ack=18
skip() { echo "SKIP: $*"; return 4; }
ip_of() { local v=TH_IP_$1; echo "${!v}"; }

step() {	# name function args...: only the steps --only selects
	echo "$1" | grep -Eq "$only" || return 0
	th_step "$@"
}

s_link() {
	th_run a 60 "ip -br addr show eth0; ping -c 3 -W 5 $TH_IP_b" &&
	th_run b 60 "ip -br addr show eth0; ping -c 3 -W 5 $TH_IP_a" &&
	th_run a 30 'ibv_devinfo -d $DEV; rdma link show' &&
	th_run b 30 'ibv_devinfo -d $DEV; rdma link show'
}

# xfer server-guest "server options" client-guest "client options"
s_xfer() {
	local sg=$1 so=$2 cg=$3 co=$4
	next_port
	th_pair "$sg" $port "build/tests/rxe_odp_2host -s -p $port -a $ack $so" \
		"$cg" "build/tests/rxe_odp_2host -p $port -a $ack $co $(ip_of "$sg")" 400
}

# The ODP steps of a side that has no ODP are skipped.
s_xfer_odp() {
	local sg=$1 so=$2 cg=$3 co=$4 need=$5
	case $need in
	*b*) [ -n "$odp_b" ] || { skip "no ODP on guest b ($peer_desc)"; return; } ;;
	esac
	s_xfer "$sg" "$so" "$cg" "$co"
}

# ibv_rc_pingpong --chk, b serves; its check reports "invalid data".
s_pingpong() {	# server-odp client-odp
	local so=$1 co=$2
	[ -n "$so" ] && [ -z "$odp_b" ] && { skip "no ODP on guest b ($peer_desc)"; return; }
	next_port
	th_pair b $port "ibv_rc_pingpong -d \$DEV -g \$(gid_index) -p $port -n 200 -s 65536 -c $so" \
		a "ibv_rc_pingpong -d \$DEV -g \$(gid_index) -p $port -n 200 -s 65536 -c $co $TH_IP_b" \
		300 || return
	! grep 'invalid data' "$TH_DIR/share/a/out.$TH_SEQ_a" "$TH_DIR/share/b/out.$TH_SEQ_b"
}

# perf tool server-extra client-extra: ODP on b (the server) needs ODP there.
s_perf() {
	local tool=$1 se=$2 ce=$3 i rc
	case $se in
	*--odp*) [ -n "$odp_b" ] || { skip "no ODP on guest b ($peer_desc)"; return; } ;;
	esac
	for i in 1 2 3; do
		next_port
		th_pair b $port "$tool -d \$DEV -p $port -F -D 2 -s 65536 -u $ack -x \$(gid_index) $se" \
			a "perf_client $tool -d \$DEV -p $port -F -D 2 -s 65536 -u $ack -x \$(gid_index) $ce $TH_IP_b" 300
		rc=$?
		# perftest under emulation sometimes reports 0.00 (its clock
		# calibration): like tests/run_tests.sh, retry those only.
		[ $rc = 0 ] || [ -n "$TH_BAD" ] && return $rc
		grep -q 'perf_client: no valid figures' "$TH_DIR/share/a/out.$TH_SEQ_a" || return $rc
		echo "attempt $i: no valid figures, retrying"
	done
	return 1
}

s_perf_cm() {	# tool server-extra client-extra (rdma_cm: -R)
	local tool=$1 se=$2 ce=$3
	case $se in
	*--odp*) [ -n "$odp_b" ] || { skip "no ODP on guest b ($peer_desc)"; return; } ;;
	esac
	next_port
	th_pair b $port "$tool -R -d \$DEV -p $port -F -D 2 -s 65536 -u $ack $se" \
		a "perf_client $tool -R -d \$DEV -p $port -F -D 2 -s 65536 -u $ack $ce $TH_IP_b" 300
}

s_rping() {	# server-guest client-guest size count [-v]
	local sg=$1 cg=$2 size=$3 count=$4 v=${5:-} sip n
	sip=$(ip_of "$sg")
	next_port
	th_pair "$sg" $port "rping -s -a $sip -p $port -V -S $size -C $count" \
		"$cg" "rping -c -a $sip -p $port -V $v -S $size -C $count" 300 || return
	local seq=TH_SEQ_$cg
	seq=${!seq}
	grep -i mismatch "$TH_DIR/share/$cg/out.$seq" && return 1
	if [ -n "$v" ]; then
		n=$(grep -c 'ping data:' "$TH_DIR/share/$cg/out.$seq")
		echo "client printed $n ping data lines, want $count"
		[ "$n" = "$count" ] || return 1
	fi
}

s_ucmatose() {
	next_port
	th_pair b $port "ucmatose -p $port -c 2 -C 50 -S 4096" \
		a "ucmatose -s $TH_IP_b -p $port -c 2 -C 50 -S 4096" 300
}

# Transfers in both directions with netem on a's egress.
s_loss() {	# server-guest client-guest
	local sg=$1 cg=$2 so=odp_$1 co=odp_$2 rc drops g
	# ODP on each side that has it (stock b: pinned there).
	so=${!so} co=${!co}
	th_run a 60 "modprobe sch_netem && tc qdisc replace dev eth0 root netem $netem && tc qdisc show dev eth0" || return
	th_run a 60 'counters > /tmp/c0' && th_run b 60 'counters > /tmp/c0' || return
	# 1 MiB, 2 rounds; lost packets cost retransmissions: 120 s waits
	ack=16 s_xfer "$sg" "$so -n 1048576 -r 2 -T 120" "$cg" "$co -n 1048576 -r 2 -T 120"
	rc=$?
	for g in a b; do
		echo "--- guest $g: rxe0 counters that moved (before -> after)"
		th_run $g 60 'counters > /tmp/c1; join /tmp/c0 /tmp/c1 | awk "\$2 != \$3"'
	done
	th_run a 30 'tc -s qdisc show dev eth0; tc qdisc del dev eth0 root' > "$TH_DIR/logs/.netem"
	cat "$TH_DIR/logs/.netem"
	drops=$(sed -n 's/.*dropped \([0-9]*\).*/\1/p' "$TH_DIR/logs/.netem" | head -n1)
	echo "netem dropped ${drops:-?} packets"
	[ "${drops:-0}" -gt 0 ] || { echo "netem dropped nothing: the step proves nothing"; rc=1; }
	return $rc
}

step link s_link
# rxe_odp_2host: b serves, a is the requester, then the other way round.
step xfer_pinned s_xfer b "" a ""
step xfer_odp_server s_xfer_odp b "$odp_b" a "" b
step xfer_odp_client s_xfer_odp b "" a "$odp_a" a
step xfer_odp_both s_xfer_odp b "$odp_b" a "$odp_a" ab
step xfer_rev_pinned s_xfer a "" b ""
step xfer_rev_odp_server s_xfer_odp a "$odp_a" b "" a
step xfer_rev_odp_client s_xfer_odp a "" b "$odp_b" b
step xfer_rev_odp_both s_xfer_odp a "$odp_a" b "$odp_b" ab
if [ -n "$impl_b" ]; then
	step xfer_implicit_both s_xfer b "$impl_b" a "-i -F"
else
	step xfer_implicit_both skip "no ODP on guest b ($peer_desc)"
fi
step pingpong_odp_server s_pingpong -o ""
step pingpong_odp_client s_pingpong "" -o
for t in write read send; do
	step perf_${t}_odp_server s_perf ib_${t}_bw --odp ""
	step perf_${t}_odp_client s_perf ib_${t}_bw "" --odp
	step perf_${t}_odp_both s_perf ib_${t}_bw --odp --odp
done
step cm_rping_verbose s_rping b a 64 10 -v
step cm_rping_a_to_b s_rping b a 16384 100
step cm_rping_b_to_a s_rping a b 16384 100
step cm_ucmatose s_ucmatose
step cm_perf_write_odp s_perf_cm ib_write_bw --odp --odp
step cm_perf_send_odp_client s_perf_cm ib_send_bw "" --odp
step cm_perf_read s_perf_cm ib_read_bw "" ""
if [ -n "$loss" ]; then
	netem="loss 2% delay 3ms reorder 10% 50%"
	step loss_a_client s_loss b a
	step loss_a_server s_loss a b
fi

# Whatever --only says: untouched anonymous memory must read as zeros on
# both guests.  Reads of it map the shared zero page, so a device write that
# reached the zero page (instead of breaking COW) shows here, whereas the
# tests' own checks, reading through the same zero page, would pass.
s_zero_pages() {
	local g
	for g in a b; do
		th_run $g 60 "python3 -c '
import mmap, sys
m = mmap.mmap(-1, 64 << 20, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
b = m[:]
n = len(b) - b.count(0)
print(\"guest $g: 64 MiB of untouched anonymous memory,\", n, \"bytes not zero\")
sys.exit(1 if n else 0)'" || return
	done
}
th_step zero_pages s_zero_pages

th_shutdown
th_dmesg_check
echo "$TH_SKIP skipped"
echo "$TH_PASS passed, $TH_FAIL failed"
[ "$TH_FAIL" = 0 ]
