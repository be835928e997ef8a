#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
#
# Guest half of bench/run.sh: every workload, REPS alternating repetitions,
# one boot.  Arguments are KEY=VALUE settings (see bench/run.sh); rows
# "kernel,rxe,workload,param,mode,rep,value,unit" go to
# $RXE_ODP_OUT/bench.csv, a log of what ran to $RXE_ODP_OUT/bench.log.
set -u
reps=3 groups=bw,lat,qp,cold,reg,inval,swap
bw_tests=ib_write_bw,ib_read_bw,ib_send_bw bw_sizes=64,4096,65536,1048576
# Bandwidth runs a fixed amount of work (perftest -n, no -D margins): about
# bw_bytes per run, at least bw_min_iters and at most bw_max_iters messages.
bw_bytes=64m bw_min_iters=100 bw_max_iters=5000
# No ib_write_lat: both of its sides spin on memory, so on --icount's one
# vCPU it measures the scheduler's time slice (4 ms), not rxe.
lat_tests=ib_read_lat,ib_send_lat lat_sizes=64,4096 lat_iters=1000
qp_tests=ib_write_bw,ib_read_bw qp_counts=1,2,4,8 qp_size=65536 qp_iters=300
cold_sizes=4096,65536,1048576 cold_ops=write,read
reg_sizes=4k,64k,1m,16m,256m,1g,4g,16g reg_maxpinned=1g
inval_size=1g inval_pages=4k,thp
swap_region=96m swap_limit=48m swap_passes=1 swap_zram=1g
for kv in "$@"; do
	case ${kv%%=*} in
	reps|groups|bw_tests|bw_sizes|bw_bytes|bw_min_iters|bw_max_iters|lat_tests|lat_sizes|lat_iters|qp_tests|\
	qp_counts|qp_size|qp_iters|cold_sizes|cold_ops|reg_sizes|reg_maxpinned|inval_size|\
	inval_pages|swap_region|swap_limit|swap_passes|swap_zram)
		eval "${kv%%=*}=\${kv#*=}" ;;
	*) echo "guest-bench: unknown setting $kv" >&2; exit 2 ;;
	esac
done
out=${RXE_ODP_OUT:-/tmp}
csv=$out/bench.csv
blog=$out/bench.log
bin=/mnt/rxe-odp/build/bench/bin
kver=$(uname -r)
rxe=ours
[ -n "${RXE_ODP_STOCK:-}" ] && rxe=stock
echo "kernel,rxe,workload,param,mode,rep,value,unit" > "$csv"
{
	echo "kernel $kver, rdma_rxe $(modinfo -n rdma_rxe) ($rxe)"
	echo "settings: reps=$reps groups=$groups bw_tests=$bw_tests bw_sizes=$bw_sizes"
	echo "  bw_bytes=$bw_bytes bw_min_iters=$bw_min_iters bw_max_iters=$bw_max_iters"
	echo "  lat_tests=$lat_tests lat_sizes=$lat_sizes lat_iters=$lat_iters"
	echo "  qp_tests=$qp_tests qp_counts=$qp_counts qp_size=$qp_size qp_iters=$qp_iters (per QP)"
	echo "  cold_sizes=$cold_sizes cold_ops=$cold_ops reg_sizes=$reg_sizes reg_maxpinned=$reg_maxpinned"
	echo "  inval_size=$inval_size inval_pages=$inval_pages"
	echo "  swap_region=$swap_region swap_limit=$swap_limit swap_passes=$swap_passes swap_zram=$swap_zram"
	echo "cpus $(nproc), memory $(awk '/MemTotal/ { print $2 }' /proc/meminfo) kB, THP $(cat /sys/kernel/mm/transparent_hugepage/enabled)"
} > "$blog"
cat "$blog"

row() {	# workload param mode rep value unit
	echo "$kver,$rxe,$1,$2,$3,$4,$5,$6" >> "$csv"
}
# Rows "workload,param,mode,value,unit" from a bench program.
rows() {	# rep
	local w p m v u
	while IFS=, read -r w p m v u; do
		row "$w" "$p" "$m" "$1" "$v" "$u"
		echo "  $w $p $m: $v $u"
	done
}
has() { case ",$groups," in *",$1,"*) return 0 ;; esac; return 1; }
list() { echo "$1" | tr , ' '; }
# pinned/odp, or odp/pinned on even repetitions.
modes() { if [ $(($1 % 2)) = 1 ]; then echo "pinned odp"; else echo "odp pinned"; fi; }
secs() { cut -d' ' -f1 /proc/uptime; }

bytes() {
	case $1 in
	*[kK]) echo $((${1%?} << 10)) ;; *[mM]) echo $((${1%?} << 20)) ;;
	*[gG]) echo $((${1%?} << 30)) ;; *) echo "$1" ;;
	esac
}
# One perftest run; prints the figure (bw: BW average; lat: t_typical),
# retrying a failed or zero run twice.  Extra arguments go to perftest;
# without -n, bandwidth tests get -n from bw_bytes.
perftest() {	# tool size extra...
	local tool=$1 size=$2 port i v col n
	shift 2
	case $tool in *_lat) col=5 ;; *) col=4 ;; esac
	case $tool,$* in
	*_lat,*) set -- -n "$lat_iters" "$@" ;;
	*,*-n*) ;;
	*)	n=$(($(bytes "$bw_bytes") / size))
		[ $n -lt "$bw_min_iters" ] && n=$bw_min_iters
		[ $n -gt "$bw_max_iters" ] && n=$bw_max_iters
		set -- -n "$n" "$@" ;;
	esac
	for i in 1 2 3; do
		port=$((20000 + RANDOM % 10000))
		timeout 180 "$tool" -d rxe0 -p $port -F -s "$size" "$@" \
			> /tmp/server.out 2>&1 &
		sleep 1
		v=$(timeout 180 "$tool" -d rxe0 -p $port -F -s "$size" "$@" \
			localhost 2> /tmp/client.err | tee /tmp/client.out |
			awk -v c=$col -v s="$size" '$1 == s && NF >= c && $2 ~ /^[0-9]+$/ { print $c; exit }')
		wait
		if [[ $v =~ ^[0-9]+(\.[0-9]+)?$ ]] && awk -v v="$v" 'BEGIN { exit !(v > 0) }'; then
			echo "$v"
			return 0
		fi
		echo "guest-bench: $tool -s $size $* failed (try $i):" >&2
		tail -n 3 /tmp/client.out /tmp/client.err /tmp/server.out >&2
	done
	echo 0
}

t0=$(secs)
for rep in $(seq 1 "$reps"); do
	echo "== repetition $rep at $(secs) s"
	if has bw; then
		for t in $(list "$bw_tests"); do
			for s in $(list "$bw_sizes"); do
				for m in $(modes "$rep"); do
					x=; [ $m = odp ] && x=--odp
					v=$(perftest "$t" "$s" $x)
					row "$t" "$s" "$m" "$rep" "$v" MBps
					echo "  $t $s $m: $v"
				done
			done
		done
	fi
	if has lat; then
		for t in $(list "$lat_tests"); do
			for s in $(list "$lat_sizes"); do
				for m in $(modes "$rep"); do
					x=; [ $m = odp ] && x=--odp
					# One vCPU: a send_lat server that spins on its CQ
					# starves the client; with events it sleeps.
					[ "$t" = ib_send_lat ] && x="$x -e"
					v=$(perftest "$t" "$s" $x)
					row "$t" "$s" "$m" "$rep" "$v" us
					echo "  $t $s $m: $v"
				done
			done
		done
	fi
	if has qp; then
		for t in $(list "$qp_tests"); do
			for q in $(list "$qp_counts"); do
				for m in $(modes "$rep"); do
					x=; [ $m = odp ] && x=--odp
					v=$(perftest "$t" "$qp_size" -q "$q" -n "$qp_iters" $x)
					row "qp_${t}" "$q" "$m" "$rep" "$v" MBps
					echo "  qp $t $q $m: $v"
				done
			done
		done
	fi
	if has cold; then
		cm=pinned,odp_warm,odp_dontneed,odp_fresh,pinned_rereg
		[ $((rep % 2)) = 0 ] && cm=pinned_rereg,odp_fresh,odp_dontneed,odp_warm,pinned
		for o in $(list "$cold_ops"); do
			"$bin/odp_first_touch" -o "$o" -m "$cm" $(list "$cold_sizes") | rows "$rep"
		done
	fi
	if has reg; then
		rm=pinned,odp,pinned_cold,implicit
		[ $((rep % 2)) = 0 ] && rm=implicit,pinned_cold,odp,pinned
		"$bin/odp_regtime" -P "$reg_maxpinned" -m "$rm" $(list "$reg_sizes") | rows "$rep"
	fi
	if has inval; then
		im=plain,odp_idle,odp_mapped
		[ $((rep % 2)) = 0 ] && im=odp_mapped,odp_idle,plain
		for pg in $(list "$inval_pages"); do
			"$bin/odp_inval" -s "$inval_size" -p "$pg" -m "$im" | rows "$rep"
		done
	fi
	if has swap; then
		if [ ! -d /sys/fs/cgroup/rxe-swap ]; then
			modprobe zram num_devices=1 &&
			echo "$swap_zram" > /sys/block/zram0/disksize &&
			mkswap /dev/zram0 > /dev/null && swapon /dev/zram0 &&
			echo +memory > /sys/fs/cgroup/cgroup.subtree_control &&
			mkdir /sys/fs/cgroup/rxe-swap &&
			echo "$swap_limit" > /sys/fs/cgroup/rxe-swap/memory.max ||
			echo "guest-bench: swap setup failed" >&2
		fi
		# Say why an ODP fault fails, if one does (rxe_dbg_mr, off by default).
		echo 'func rxe_odp_fault +p' > /sys/kernel/debug/dynamic_debug/control 2>/dev/null
		sm="pinned odp_nopressure odp_swap"
		[ $((rep % 2)) = 0 ] && sm="odp_swap odp_nopressure pinned"
		for m in $sm; do
			case $m in
			pinned) "$bin/odp_swap" -s "$swap_region" -p "$swap_passes" pinned ;;
			odp_nopressure) "$bin/odp_swap" -s "$swap_region" -p "$swap_passes" -l $m odp ;;
			odp_swap) bash -c 'echo $$ > /sys/fs/cgroup/rxe-swap/cgroup.procs && exec "$@"' - \
				"$bin/odp_swap" -s "$swap_region" -p "$swap_passes" -l $m odp ;;
			esac | rows "$rep"
		done
	fi
done
echo "== done after $(awk -v a="$t0" -v b="$(secs)" 'BEGIN { print b - a }') s of guest time" | tee -a "$blog"
(cd /sys/class/infiniband/rxe0/ports/1/hw_counters 2>/dev/null && grep . odp_*) |
	sed 's/^/odp counter /' >> "$blog"
