# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# Shared settings for the rxe-odp scripts; sourced, never run.

RXE_ODP_CACHE=${RXE_ODP_CACHE:-/var/tmp/rxe-odp}
ROOT=${RXE_ODP_ROOT:-$RXE_ODP_CACHE/root-trixie}
MIRROR=${RXE_ODP_MIRROR:-http://deb.debian.org/debian}
SECMIRROR=${RXE_ODP_SECMIRROR:-http://deb.debian.org/debian-security}
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$TOP/build

# The QEMU that scripts/get-qemu.sh unpacked comes before the host's
# (RXE_ODP_SYSTEM_QEMU=1: the host's).
if [ -z "${RXE_ODP_SYSTEM_QEMU:-}" ] &&
   [ -x "$RXE_ODP_CACHE/qemu/bin/qemu-system-x86_64" ]; then
	PATH=$RXE_ODP_CACHE/qemu/bin:$PATH
fi

# Guest kernel log lines that fail a run (check.sh, two-host-lib.sh; the
# tests' rv_common.h RV_KMSG_BAD says the same).  The callers leave out the
# command line, which names page_poison.
DMESG_BAD='WARNING:|BUG:|BUG |Oops|Bad page|[Pp]oison|hung_task|blocked for more than|soft lockup|rcu.*(stall|detected stalls)|general protection|KASAN|UBSAN|kmemleak|possible circular|possible recursive|inconsistent lock|Call Trace|memory corruption|single bit error|list_(add|del) corruption|refcount_t:'

die() { echo "rxe-odp: error: $*" >&2; exit 1; }
log() { echo "rxe-odp: $*" >&2; }

# The root's kernel release (e.g. 6.12.57+deb13-amd64): exactly one must exist.
root_kver() {
	local k
	k=$(cd "$ROOT/boot" 2>/dev/null && ls vmlinuz-* 2>/dev/null | sed 's/^vmlinuz-//')
	[ -n "$k" ] || die "no kernel in $ROOT/boot; run scripts/mkroot.sh"
	[ "$(echo "$k" | wc -l)" = 1 ] || die "several kernels in $ROOT/boot: $k"
	echo "$k"
}

# Filter a guest kernel log: leave out the reports of OOM kills inside a
# memory cgroup (the swap test's pinned control is killed by its cgroup on
# purpose, and the report carries a call trace).  A global OOM kill stays
# a complaint.
drop_memcg_oom() {
	awk '/invoked oom-killer/ { skip = 1; next }
	     skip && /Memory cgroup out of memory: Killed process/ { skip = 0; next }
	     skip && /Out of memory: Killed process/ { skip = 0; print "BUG: global OOM kill: " $0; next }
	     !skip'
}
