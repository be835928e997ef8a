#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
#
# Guest half of `make demo` (run inside the VM by scripts/demo.sh, cwd = the
# repository): perftest bandwidth over rxe0 on lo, 64 KiB messages, 5 s per
# run, once per memory mode.
#
#   scripts/guest-demo.sh [mode...]      modes: pinned (default), odp
#
#   pinned  ordinary registered (pinned) memory
#   odp     --odp on both perftest sides; runs only if the device reports
#           ODP_SUPPORT and the RC capability the test needs
#
# Raw outputs and results.tsv ("test mode MiB/s-or-status", one per line) go
# to $RXE_ODP_OUT; scripts/demo.sh prints the table from it.
set -u

DEV=${RXE_DEV:-rxe0}
OUT=${RXE_ODP_OUT:-/tmp/demo}
TESTS="ib_write_bw ib_read_bw ib_send_bw"
SIZE=65536
DURATION=5
TRIES=3
mkdir -p "$OUT"
res=$OUT/results.tsv
: > "$res"
[ $# -gt 0 ] || set -- pinned

ibv_devinfo -d "$DEV" -v > "$OUT/devinfo.txt" 2>&1 ||
	{ echo "demo: ibv_devinfo -d $DEV failed"; cat "$OUT/devinfo.txt"; exit 1; }

# ODP: general_odp_caps lists ODP_SUPPORT; rc_odp_caps lists SUPPORT_WRITE,
# SUPPORT_READ, SUPPORT_SEND, SUPPORT_RECV... (or NO SUPPORT).
odp_general=no
awk '/general_odp_caps:/ { g = 1; next } /_odp_caps:/ { g = 0 }
	g && $1 == "ODP_SUPPORT" { found = 1 } END { exit !found }' \
	"$OUT/devinfo.txt" && odp_general=yes
rc_odp_caps=$(awk '/rc_odp_caps:/ { g = 1; next } /:/ { g = 0 }
	g { printf "%s ", $0 }' "$OUT/devinfo.txt" | tr -s ' \t' ' ')

# The RC ODP capabilities a test needs on its buffers.
needs() {
	case $1 in
	ib_write_bw) echo SUPPORT_WRITE ;;
	ib_read_bw) echo SUPPORT_READ ;;
	ib_send_bw) echo "SUPPORT_SEND SUPPORT_RECV" ;;
	esac
}

port=18515
# One perftest pair: prints MiB/s (BW average) or nothing.
bw_once() {	# test port tag args...
	local t=$1 port=$2 tag=$3 spid avg
	shift 3
	timeout 120 "$t" -d "$DEV" -p "$port" "$@" > "$OUT/$tag.server.txt" 2>&1 &
	spid=$!
	# Wait for the server to listen (the emulated CPU is slow to start it).
	for _ in $(seq 1 100); do
		ss -Hltn "sport = :$port" 2>/dev/null | grep -q . && break
		kill -0 "$spid" 2>/dev/null || break
		sleep 0.2
	done
	timeout 120 "$t" -d "$DEV" -p "$port" "$@" localhost \
		> "$OUT/$tag.client.txt" 2>&1
	wait "$spid"
	# " 65536  2319  0.00  72.24  0.001156": bytes iters peak average rate
	avg=$(awk -v s="$SIZE" '$1 == s && NF >= 5 && $2 ~ /^[0-9]+$/ { a = $4 }
		END { if (a != "") print a }' "$OUT/$tag.client.txt")
	echo "$avg"
}

for mode in "$@"; do
	case $mode in
	pinned) extra=() ;;
	odp) extra=(--odp) ;;
	*) echo "demo: unknown mode $mode"; exit 1 ;;
	esac
	if [ "$mode" = odp ] && [ "$odp_general" != yes ]; then
		echo "ODP: not supported by this module yet (ibv_devinfo -v: no ODP_SUPPORT in general_odp_caps)"
		for t in $TESTS; do
			printf '%s\t%s\t%s\n' "$t" "$mode" unsupported >> "$res"
		done
		continue
	fi
	for t in $TESTS; do
		if [ "$mode" = odp ]; then
			miss=
			for c in $(needs "$t"); do
				case " $rc_odp_caps " in
				*" $c "*) ;;
				*) miss="$miss $c" ;;
				esac
			done
			if [ -n "$miss" ]; then
				echo "ODP: $t skipped, rc_odp_caps lacks$miss"
				printf '%s\t%s\t%s\n' "$t" "$mode" unsupported >> "$res"
				continue
			fi
		fi
		val=
		for try in $(seq 1 $TRIES); do
			port=$((port + 1))	# a fresh port per attempt
			echo "demo: $t $mode, attempt $try (port $port)"
			val=$(bw_once "$t" $port "$t-$mode-$try" \
				-s $SIZE -D $DURATION -F "${extra[@]}")
			case $val in
			"" | 0 | 0.0 | 0.00) echo "demo: $t $mode: no figure (BW average ${val:-missing}), see $t-$mode-$try.*.txt" ;;
			*) break ;;
			esac
			val=
		done
		echo "demo: $t $mode: ${val:-failed}${val:+ MiB/s}"
		printf '%s\t%s\t%s\n' "$t" "$mode" "${val:-failed}" >> "$res"
	done
done
! grep -q 'failed$' "$res"

# The swap demonstration: rxe_odp's swap test, on zram swap.
if [ -x build/tests/rxe_odp ] && [ "$odp_general" = yes ]; then
	if ! grep -q '^/dev/zram0 ' /proc/swaps; then
		modprobe zram && echo 1G > /sys/block/zram0/disksize &&
			mkswap /dev/zram0 > /dev/null && swapon /dev/zram0
	fi
	build/tests/rxe_odp -t swap > "$OUT/swap.log" 2>&1
	echo "swap demonstration: exit $?"
	grep -E ':swap:|^(not )?ok ' "$OUT/swap.log" > "$OUT/swap.txt"
fi
