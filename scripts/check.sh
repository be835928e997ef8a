#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
#
# make check: host-side checks, then the guest suite in QEMU, then a scan of
# the guest's kernel log.  Ends with "N passed, N failed" over everything.
#
#   scripts/check.sh [--no-static] [--no-vm] [-- vm.sh options]
set -uo pipefail
. "$(dirname "$0")/common.sh"

static=1 vm=1
while [ $# -gt 0 ]; do
	case $1 in
	--no-static) static=; shift ;;
	--no-vm) vm=; shift ;;
	--) shift; break ;;
	*) die "check.sh: unknown option $1" ;;
	esac
done

pass=0 fail=0
result() {	# name status [detail]
	if [ "$2" = 0 ]; then
		echo "PASS host/$1"
		pass=$((pass + 1))
	else
		echo "FAIL host/$1${3:+: $3}"
		fail=$((fail + 1))
	fi
}

kver=$(root_kver)
stock=$(ls "$ROOT/lib/modules/$kver"/kernel/drivers/infiniband/sw/rxe/rdma_rxe.ko*)
in_root() { chroot "$ROOT" env LC_ALL=C "$@"; }

# The module must be loadable by Debian's kernel: same vermagic, and every
# symbol it imports with the CRC of the kernel's Module.symvers (which is
# also what the stock module was linked against).
check_abi() {
	local ours theirs symvers bad mine ref
	ours=$(modinfo -F vermagic "$TOP/rdma_rxe.ko" 2>/dev/null ||
		in_root modinfo -F vermagic /mnt/rxe-odp/rdma_rxe.ko)
	theirs=$(in_root modinfo -F vermagic "${stock#"$ROOT"}")
	[ "$ours" = "$theirs" ] ||
		{ echo "vermagic '$ours' != stock '$theirs'"; return 1; }
	symvers=$ROOT/usr/src/linux-headers-$kver/Module.symvers
	# The host's modprobe reads both files (ours, and the root's
	# compressed stock module) in place; an empty dump is an error, not a
	# pass.
	mine=$(/sbin/modprobe --dump-modversions "$TOP/rdma_rxe.ko") &&
		[ -n "$mine" ] || { echo "no modversions in $TOP/rdma_rxe.ko"; return 1; }
	ref=$(/sbin/modprobe --dump-modversions "$stock") && [ -n "$ref" ] ||
		{ echo "no modversions in $stock"; return 1; }
	bad=$(echo "$mine" | while read -r crc sym; do
			grep -qP "^$crc\t$sym\t" "$symvers" || echo "$sym"
		done)
	[ -z "$bad" ] || { echo "CRC mismatch: $bad"; return 1; }
	# Symbols both modules import carry the same CRCs.
	bad=$(join -j2 <(echo "$mine" | sort -k2) <(echo "$ref" | sort -k2) |
		awk '$2 != $3 { print $1 }')
	[ -z "$bad" ] || { echo "CRC differs from stock: $bad"; return 1; }
}

checkpatch() {
	local cp=$BUILD/src/scripts/checkpatch.pl files out rc=0
	files=$(find "$TOP/drivers/odp" "$TOP/include" "$TOP/tests" \
		-name '*.[ch]' 2>/dev/null | sort)
	if [ -n "$files" ]; then
		# shellcheck disable=SC2086
		out=$(perl "$cp" --strict --no-tree --terse --show-types -f $files 2>&1) || rc=1
		[ -n "$out" ] && echo "$out" | grep -v '^total:' | head -40
	fi
	for p in "$TOP"/patches/*.patch; do
		[ -f "$p" ] || continue
		# Outside the work tree: inside it checkpatch diffs a tracked
		# patch file against git instead of reading it as a patch.
		out=$(cd / && perl "$cp" --strict --no-tree --terse --show-types "$p" 2>&1) ||
			{ rc=1; echo "$out" | head -20; }
	done
	return $rc
}

sparse_w1() {
	local out
	out=$("$TOP/scripts/build.sh" module C=2 W=1 2>&1) || { echo "$out" | tail -30; return 1; }
	out=$(echo "$out" | grep -E 'warning:|error:')
	[ -z "$out" ] || { echo "$out" | head -40; return 1; }
}

kerneldoc_headers() {
	local h out
	h=$(find "$TOP/drivers/odp" "$TOP/include" -name '*.h' 2>/dev/null)
	[ -n "$h" ] || return 0
	# shellcheck disable=SC2086
	out=$(perl "$BUILD/src/scripts/kernel-doc" -v -none $h 2>&1 | grep -E 'warning|error')
	[ -z "$out" ] || { echo "$out"; return 1; }
}

if [ -n "$static" ]; then
	for t in check_abi checkpatch sparse_w1 kerneldoc_headers; do
		msg=$($t 2>&1)
		rc=$?
		[ -n "$msg" ] && echo "$msg" | sed "s/^/  $t: /"
		result "$t" $rc
	done
	# sparse_w1 rebuilt the module with C=2: make sure the tests are built too.
	"$TOP/scripts/build.sh" tests >/dev/null || result build_tests 1
fi

# One boot of the guest suite: run dir $BUILD/vm/NAME, its results added
# to ours, then its kernel log scanned.
guest_boot() {	# name vm.sh-options... -- guest command...
	local name=$1 out=$BUILD/vm/$1 rc guest f bad opts=()
	shift
	while [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	"$TOP/scripts/vm.sh" -t "${RXE_ODP_CHECK_TIMEOUT:-2400}" -o "$out" \
		"${opts[@]}" "${vmopts[@]}" -- "$@"
	rc=$?
	guest=$(tr -d '\r' < "$out/console.log" |
		grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n1)
	if [ -n "$guest" ]; then
		pass=$((pass + ${guest%% passed*}))
		f=${guest#*passed, }
		fail=$((fail + ${f%% failed}))
	fi
	case $rc in
	0) result "$name/guest_suite" 0 ;;
	124) result "$name/guest_suite" 1 "timeout" ;;
	125) result "$name/guest_suite" 1 "the guest never reported (panic?)" ;;
	*) result "$name/guest_suite" 1 "exit $rc" ;;
	esac
	if [ -f "$out/dmesg.txt" ]; then
		bad=$(grep -v 'ommand line:' "$out/dmesg.txt" | drop_memcg_oom |
			grep -E "$DMESG_BAD")
	else
		bad="no dmesg from the guest"
	fi
	if [ -n "$bad" ]; then
		echo "guest kernel log has complaints; tail of dmesg:"
		tail -n 80 "$out/dmesg.txt" 2>/dev/null || tail -n 80 "$out/console.log"
		result "$name/guest_dmesg" 1 "$(echo "$bad" | head -n1)"
	else
		result "$name/guest_dmesg" 0
	fi
}

# The torture and bad-input suites get a boot of their own: page migration
# needs two NUMA nodes (numa=fake=2), which the aging figures of the main
# suite were not measured with.
TORTURE='^(rxe_odp_torture|rxe_odp_bad)$'
if [ -n "$vm" ]; then
	vmopts=("$@")
	guest_boot check -- env RXE_ODP_EXCLUDE="$TORTURE" tests/run_tests.sh
	guest_boot check-torture --append numa=fake=2 -- \
		tests/run_tests.sh "$TORTURE"
fi

# Two guests on a virtual link: the steps of make check-2host that cover
# each kind once (ODP on both sides both ways, implicit ODP, perftest
# --odp, RDMA CM, loss), a few minutes.  RXE_ODP_2HOST_ONLY sets another
# selection ('.' for all of it); RXE_ODP_2HOST_ONLY=none leaves it out.
TWOHOST=${RXE_ODP_2HOST_ONLY:-'^(link|xfer_odp_both|xfer_rev_odp_both|xfer_implicit_both|pingpong_odp_client|perf_write_odp_both|cm_rping_verbose|cm_ucmatose|cm_perf_write_odp|loss_a_client)$'}
if [ -n "$vm" ] && [ "$TWOHOST" != none ]; then
	mkdir -p "$BUILD/vm"
	"$TOP/scripts/check-2host.sh" --only "$TWOHOST" -o "$BUILD/vm/check-2host" \
		2>&1 | tee "$BUILD/vm/check-2host.log"
	rc=${PIPESTATUS[0]}
	guest=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' \
		"$BUILD/vm/check-2host.log" | tail -n1)
	if [ -n "$guest" ]; then
		pass=$((pass + ${guest%% passed*}))
		f=${guest#*passed, }
		fail=$((fail + ${f%% failed}))
	fi
	result check-2host/run "$rc"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
