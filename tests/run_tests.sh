#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
#
# Guest test suite (run inside the VM by scripts/check.sh, cwd = the repo).
# One line per test: PASS, FAIL or SKIP and the name; the last line is
# "N passed, N failed".  A skip is reported, never silent, and counts as
# neither.  Exits 0 only if nothing failed.
#
#   tests/run_tests.sh [name-filter-regex]

filter=${1:-.}
# Names matching RXE_ODP_EXCLUDE (an ERE) are left out, e.g. the suites
# that scripts/check.sh runs in a boot of their own.
exclude=${RXE_ODP_EXCLUDE:-}
DEV=${RXE_DEV:-rxe0}
BIN=${RXE_ODP_TESTBIN:-build/tests}
LOG=${RXE_ODP_OUT:-/tmp}/tests
mkdir -p "$LOG"
pass=0 fail=0 skip=0

ksft_skip=4

report() {	# status name [detail]
	case $1 in
	0) echo "PASS $2"; pass=$((pass + 1)) ;;
	"$ksft_skip") echo "SKIP $2${3:+: $3}"; skip=$((skip + 1)) ;;
	*) echo "FAIL $2${3:+: $3}"; fail=$((fail + 1)) ;;
	esac
}

# run name command...: output kept in $LOG/name.log, shown on failure.
selected() {	# name
	echo "$1" | grep -Eq "$filter" || return 1
	[ -z "$exclude" ] || ! echo "$1" | grep -Eq "$exclude"
}

run() {
	local name=$1 rc
	shift
	selected "$name" || return 0
	"$@" > "$LOG/$name.log" 2>&1
	rc=$?
	if [ $rc != 0 ] && [ $rc != $ksft_skip ]; then
		sed 's/^/    /' "$LOG/$name.log" | tail -n 30
	fi
	report $rc "$name" "$([ $rc = $ksft_skip ] && tail -n1 "$LOG/$name.log")"
}

# The IPv4-mapped RoCE v2 GID of rxe0 on lo (::ffff:127.0.0.1).
gid_index() {
	local f
	for f in /sys/class/infiniband/"$DEV"/ports/1/gids/*; do
		case $(cat "$f") in
		0000:0000:0000:0000:0000:ffff:7f00:0001)
			basename "$f"
			return 0 ;;
		esac
	done
	return 1
}

# Server and client of a two-sided userspace tool over loopback.
pair() {	# port server-args... -- client-args...
	local port=$1 s=() c=() spid rc
	shift
	while [ "$1" != -- ]; do s+=("$1"); shift; done
	shift
	c=("$@")
	timeout 120 "${s[@]}" > "$LOG/server.out" 2>&1 &
	spid=$!
	sleep 1
	timeout 120 "${c[@]}" 2>&1
	rc=$?
	wait $spid || rc=${rc/#0/1}
	echo "--- server:"
	cat "$LOG/server.out"
	return $rc
}

# perftest under emulation sometimes reports 0.00 (clock calibration):
# retry those, up to three attempts, on fresh ports.  Result rows start
# with the message size and the iterations; the 4th column (BW average,
# or t_max of the _lat tools) must be a positive number, not 0.00 or inf.
perftest() {	# tool args...
	local tool=$1 i port out
	shift
	for i in 1 2 3 4 5; do
		port=$((18515 + RANDOM % 1000))
		out=$(pair $port "$tool" -d "$DEV" -p $port -F "$@" -- \
			"$tool" -d "$DEV" -p $port -F "$@" localhost)
		local rc=$?
		echo "$out"
		# Both sides ran to completion (rc 0) and moved data; one of
		# them must also report a positive average.  Under emulation
		# perftest's clock calibration makes either side print 0.00
		# now and then while the data flowed: ib_send_bw's receiver
		# often, its sender too when the host is loaded (seen in three
		# attempts in a row).
		if [ $rc = 0 ] && echo "$out" | awk '
			BEGIN { side = 0 }
			/^--- server:/ { side = 1; next }
			/^ *[0-9]+ +[0-9]+ / {
				n[side]++
				if ($4 ~ /^[0-9]*\.?[0-9]+$/ && $4 + 0 > 0) ok[side]++
			}
			END {
				for (s = 0; s < 2; s++)
					if (n[s] > 0 && ok[s] == n[s])
						exit 0
				exit 1
			}'; then
			return 0
		fi
		echo "attempt $i: no valid figures (rc $rc), retrying"
	done
	return 1
}

# Swap on zram for rxe_odp's swap test; idempotent, says what it did.
setup_zram() {
	local dev=/dev/zram0
	if grep -q "^$dev " /proc/swaps; then
		echo "# zram: $dev already in use as swap"
		return 0
	fi
	[ -e /sys/block/zram0 ] || modprobe zram ||
		{ echo "# zram: modprobe zram failed"; return 1; }
	if [ "$(cat /sys/block/zram0/disksize)" = 0 ]; then
		echo 1G > /sys/block/zram0/disksize ||
			{ echo "# zram: cannot set the disk size"; return 1; }
	fi
	mkswap "$dev" > /dev/null && swapon "$dev" ||
		{ echo "# zram: mkswap/swapon $dev failed"; return 1; }
	echo "# zram: swap on $dev, $(($(cat /sys/block/zram0/disksize) >> 20)) MiB"
}

t_module_is_ours() {
	local ko id note
	ko=/lib/modules/$(uname -r)/updates/rdma_rxe.ko
	id=$(readelf -n "$ko" | sed -n 's/.*Build ID: //p')
	note=$(od -An -tx1 -v /sys/module/rdma_rxe/notes/.note.gnu.build-id |
		tr -d ' \n')
	echo "path $(modinfo -n rdma_rxe), file build-id $id, loaded note $note"
	echo "taint $(cat /sys/module/rdma_rxe/taint)"
	[ -n "$id" ] && [ "${note%"$id"}" != "$note" ] || return 1
	modinfo -n rdma_rxe | grep -q /updates/ || return 1
	grep -q O /sys/module/rdma_rxe/taint
}

# A /proc/meminfo field in kB.
meminfo_kb() {
	awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo
}

# Make the slab figures comparable: drop the reclaimable caches, give
# RCU-freed objects a moment, and shrink every slab cache (empty slabs
# held on per-CPU and partial lists are released).  Best effort.
slab_settle() {
	local f
	sync
	echo 3 > /proc/sys/vm/drop_caches
	sleep 1
	for f in /sys/kernel/slab/*/shrink; do
		echo 1 > "$f"
	done 2> /dev/null
}

# Lifetime: remove the device and unload the module three times (the
# kernel log scan catches warnings and leaks reported at unload), then
# put it back.  The slab is measured settled before and after: growing by
# more than 4 MiB over the three cycles fails (other things move it a
# little, a leak of the device or of every MR moves it more).
t_module_reload() {
	local before after ubefore uafter i
	slab_settle
	before=$(meminfo_kb Slab)
	ubefore=$(meminfo_kb SUnreclaim)
	for i in 1 2 3; do
		rdma link delete "$DEV" || return 1
		modprobe -r rdma_rxe || return 1
		[ ! -d /sys/module/rdma_rxe ] || { echo "rdma_rxe still loaded"; return 1; }
		modprobe rdma_rxe || return 1
		rdma link add "$DEV" type rxe netdev lo || return 1
	done
	ibv_devinfo -d "$DEV" | grep -q PORT_ACTIVE || return 1
	slab_settle
	after=$(meminfo_kb Slab)
	uafter=$(meminfo_kb SUnreclaim)
	echo "Slab: $before kB before, $after kB after 3 unload/reload cycles ($((after - before)) kB)"
	echo "SUnreclaim: $ubefore kB before, $uafter kB after ($((uafter - ubefore)) kB)"
	[ $((after - before)) -le 4096 ] ||
		{ echo "the slab grew by more than 4 MiB"; return 1; }
}

t_devinfo() {
	ibv_devinfo -d "$DEV" -v || return 1
	ibv_devinfo -d "$DEV" | grep -q 'PORT_ACTIVE' &&
		ibv_devinfo -d "$DEV" | grep -q 'link_layer:.*Ethernet'
}

t_rc_pingpong() {
	local g
	g=$(gid_index) || { echo "no IPv4-mapped GID"; return 1; }
	pair 18000 ibv_rc_pingpong -d "$DEV" -g "$g" -n 200 -s 65536 -- \
		ibv_rc_pingpong -d "$DEV" -g "$g" -n 200 -s 65536 localhost
}

t_rv_verbs() {
	# kselftest harness: TAP output, one result per test case.
	"$BIN/rv_verbs"
}

# The harness binary prints TAP; report each case as its own line.
run_ksft() {	# name binary [args]
	local name=$1 bin=$2 line st tname
	shift 2
	selected "$name" || return 0
	if [ ! -x "$bin" ]; then
		report 1 "$name" "$bin not built"
		return
	fi
	timeout "${RXE_ODP_KSFT_TIMEOUT:-600}" "$bin" "$@" > "$LOG/$name.log" 2>&1
	echo "$name: exit $?" >> "$LOG/$name.log"
	while read -r line; do
		case $line in
		"ok "*"# SKIP"*) st=$ksft_skip ;;
		"ok "*) st=0 ;;
		"not ok "*"# SKIP"*) st=$ksft_skip ;;
		"not ok "*) st=1 ;;
		*) continue ;;
		esac
		tname=$(echo "$line" | sed -E 's/^(not )?ok [0-9]+ //; s/ # .*//')
		[ $st = 1 ] && awk -v t="$tname" '
			$0 ~ "^# +RUN +" t { p = 1 } p { print "    " $0 }
			$0 ~ "^# +(OK|FAIL|SKIP) +" t { p = 0 }' "$LOG/$name.log"
		report $st "$name/$tname" "$(echo "$line" | sed -n 's/.*# SKIP //p')"
	done < <(grep -E '^(not )?ok [0-9]+ ' "$LOG/$name.log")
	if ! grep -Eq '^(not )?ok [0-9]+ ' "$LOG/$name.log"; then
		tail -n 20 "$LOG/$name.log"
		report 1 "$name" "no TAP results"
	fi
}

# dma-buf exporters of rxe_odp_dmabuf: vgem (its card node) and the test
# exporter of tests/kmod.  What is loaded here is unloaded by
# t_dmabuf_unload: rmmod of the test exporter fails while a buffer of it
# lives.  dmabuf_move_notify is put back as found (the test restores it,
# but not when the harness kills a test on a timeout).
dmabuf_param=/sys/module/rdma_rxe/parameters/dmabuf_move_notify
dmabuf_param_was=
dmabuf_loaded=

t_dmabuf_load() {
	local ko=$BIN/kmod/rxe_test_dmabuf.ko
	dmabuf_param_was=$(cat "$dmabuf_param") ||
		{ echo "rdma_rxe has no dmabuf_move_notify: no dma-buf MRs"; return 1; }
	modprobe vgem || { echo "modprobe vgem failed"; return 1; }
	if [ ! -e /dev/rxe_test_dmabuf ]; then
		# Installed with the kernel (check-debug's), or the build's.
		if ! modprobe -q rxe_test_dmabuf 2>/dev/null; then
			[ -f "$ko" ] || { echo "$ko not built (scripts/build.sh tests)"; return 1; }
			insmod "$ko" || { echo "insmod $ko failed"; return 1; }
		fi
		dmabuf_loaded=1
	fi
	ls -l /dev/dri /dev/udmabuf /dev/dma_heap/system /dev/rxe_test_dmabuf
}

t_dmabuf_unload() {
	[ -z "$dmabuf_param_was" ] || echo "$dmabuf_param_was" > "$dmabuf_param"
	[ -z "$dmabuf_loaded" ] || rmmod rxe_test_dmabuf ||
		{ echo "rmmod rxe_test_dmabuf failed: a dma-buf still lives"; return 1; }
	grep -i total /sys/kernel/debug/dma_buf/bufinfo
}

# rdma-core's pyverbs dma-buf tests (tests/test_mr.py: DmaBufMRTest,
# DmaBufTestCase), from Debian's rdma-core package, gzipped in its doc
# directory: unpacked to a scratch directory.  They allocate from
# /dev/dri/renderD128 (vgem here) through pyverbs' dmabuf module, which
# the guest replaces with the one userspace/build.sh builds: Debian's knows
# only amdgpu and i915 (userspace/patches/0002) and cannot register a
# DmaBufMR from a DmaBuf at all (0003).  Every test must pass: a skip is a
# failure here.
t_pyverbs_dmabuf() {
	local src=/usr/share/doc/rdma-core/tests dir g rc n ok bad
	[ -d "$src" ] || { echo "no $src (rdma-core's tests)"; return 1; }
	g=$(gid_index) || { echo "no IPv4-mapped GID"; return 1; }
	dir=$(mktemp -d) || return 1
	cp -r "$src" "$dir/tests" && gunzip -f "$dir"/tests/*.gz || return 1
	(cd "$dir/tests" && timeout 300 python3 run_tests.py --dev "$DEV" \
		--gid "$g" -v test_mr.DmaBufMRTest test_mr.DmaBufTestCase) \
		> "$dir/out" 2>&1
	rc=$?
	cat "$dir/out"
	n=$(grep -c ' \.\.\. ' "$dir/out")
	ok=$(grep -c ' \.\.\. ok$' "$dir/out")
	bad=$(grep ' \.\.\. ' "$dir/out" | grep -v ' \.\.\. ok$')
	rm -rf "$dir"
	echo "$n tests, $ok ok, exit $rc"
	[ -z "$bad" ] || { echo "not passed:"; echo "$bad"; return 1; }
	[ $rc = 0 ] && [ "$n" -ge 10 ]
}

echo "# rxe-odp guest suite on $(uname -r), device $DEV"
run module_is_ours t_module_is_ours
run devinfo t_devinfo
run rc_pingpong t_rc_pingpong
run perftest_write_bw perftest ib_write_bw -D 2
run perftest_read_bw perftest ib_read_bw -D 2
run perftest_send_bw perftest ib_send_bw -D 2
run perftest_atomic_bw perftest ib_atomic_bw -D 2
run perftest_write_bw_odp perftest ib_write_bw -D 2 --odp
run perftest_read_bw_odp perftest ib_read_bw -D 2 --odp
run perftest_send_bw_odp perftest ib_send_bw -D 2 --odp
run perftest_write_lat_odp perftest ib_write_lat -n 500 --odp
run perftest_read_lat_odp perftest ib_read_lat -n 500 --odp
run perftest_send_lat_odp perftest ib_send_lat -n 500 --odp
run_ksft rv_verbs "$BIN/rv_verbs"
if selected rxe_odp; then
	setup_zram
	run_ksft rxe_odp "$BIN/rxe_odp"
fi
run_ksft rxe_odp_aging "$BIN/rxe_odp_aging"
run_ksft rxe_odp_ext "$BIN/rxe_odp_ext"
run_ksft rxe_odp_bad "$BIN/rxe_odp_bad"
if selected rxe_odp_torture; then
	setup_zram
	run_ksft rxe_odp_torture "$BIN/rxe_odp_torture"
fi
if selected rxe_odp_dmabuf || selected pyverbs_dmabuf; then
	run dmabuf_load t_dmabuf_load
	run_ksft rxe_odp_dmabuf "$BIN/rxe_odp_dmabuf"
	run pyverbs_dmabuf t_pyverbs_dmabuf
	run dmabuf_unload t_dmabuf_unload
fi
run module_reload t_module_reload
echo "$skip skipped"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
