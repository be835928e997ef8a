#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
#
# Boot the root's Debian 13 kernel in QEMU (TCG) and run one command in it.
#
#   scripts/vm.sh [options] [--] command [args...]
#
# The root is shared read-only over virtio-9p under a tmpfs overlay, the
# repository appears at /mnt/rxe-odp (read only, the working directory), the
# run directory at /mnt/run (read-write, $RXE_ODP_OUT in the guest).  The
# built rdma_rxe.ko replaces the stock one (updates/), rxe0 sits on lo.
#
# Options:
#   -t SEC          wall-clock bound for the whole run (default 900)
#   -m MIB          guest memory (default 2048)
#   -s N            vCPUs (default 2)
#   -o DIR          run directory (default build/vm/last)
#   --icount        deterministic timing: one vCPU, instruction-counted clock
#   --panic-on-warn boot with panic_on_warn=1
#   --stock         load Debian's own rdma_rxe instead of the built one
#   --kernel-dir DIR  boot another kernel, DIR/boot/vmlinuz-KVER, with its
#                   modules DIR/lib/modules/KVER (indexed by depmod) shared
#                   read-only over /lib/modules/KVER; implies --stock
#                   (e.g. bench/get-upstream-kernel.sh)
#   --append ARGS   extra kernel command line
#   --qemu ARGS     extra QEMU arguments
#   --lock NAME     take $RXE_ODP_CACHE/NAME.lock instead of vm.lock (two
#                   guests at once: scripts/check-2host.sh)
#
# A second host on a virtual link (scripts/check-2host.sh boots two guests):
#   --net-listen PORT, --net-connect PORT
#                   a virtio-net NIC (eth0) on a QEMU socket netdev at
#                   127.0.0.1:PORT; start the listening guest first
#   --mac MAC       its MAC (default 52:54:00:77:00:01 listening, :02 connecting)
#   --ip ADDR/LEN   eth0's IPv4 address; rxe0 then sits on eth0, not on lo
#   --mtu N         eth0's MTU (default 1500)
#   --share DIR     a host directory shared read-write at /mnt/share
#
# Exit status: the guest command's status; 124 if the run hit the time
# bound; 125 if the guest never reported (panic, triple fault, QEMU error).
set -euo pipefail
. "$(dirname "$0")/common.sh"

tmo=900 mem=2048 smp=2 run=$BUILD/vm/last icount= pow= stock= append= qextra=
kdir= lockname=vm net= mac= ip= mtu= share=
while [ $# -gt 0 ]; do
	case $1 in
	-t) tmo=$2; shift 2 ;;
	-m) mem=$2; shift 2 ;;
	-s) smp=$2; shift 2 ;;
	-o) run=$2; shift 2 ;;
	--icount) icount=1; shift ;;
	--panic-on-warn) pow=1; shift ;;
	--stock) stock=1; shift ;;
	--kernel-dir) kdir=$(cd "$2" && pwd) || die "no directory $2"
		stock=1; shift 2 ;;
	--append) append="$append $2"; shift 2 ;;
	--qemu) qextra="$qextra $2"; shift 2 ;;
	--lock) lockname=$2; shift 2 ;;
	--net-listen) net="listen=127.0.0.1:$2" mac=${mac:-52:54:00:77:00:01}
		shift 2 ;;
	--net-connect) net="connect=127.0.0.1:$2" mac=${mac:-52:54:00:77:00:02}
		shift 2 ;;
	--mac) mac=$2; shift 2 ;;
	--ip) ip=$2; shift 2 ;;
	--mtu) mtu=$2; shift 2 ;;
	--share) share=$(cd "$2" && pwd) || die "no directory $2"; shift 2 ;;
	--) shift; break ;;
	-*) die "vm.sh: unknown option $1" ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || die "usage: vm.sh [options] [--] command [args...]"
[ -z "$ip" ] || [ -n "$net" ] || die "--ip needs --net-listen or --net-connect"
case $lockname in */*|'') die "--lock takes a plain name" ;; esac
command -v qemu-system-x86_64 >/dev/null ||
	die "host needs qemu-system-x86_64 (apt-get install qemu-system-x86)"

# One VM at a time on this machine: later runs wait for the running one.
mkdir -p "$RXE_ODP_CACHE"
exec 9> "$RXE_ODP_CACHE/$lockname.lock"
flock 9

if [ -n "$kdir" ]; then
	kver=$(cd "$kdir/boot" 2>/dev/null && ls vmlinuz-* 2>/dev/null | sed 's/^vmlinuz-//')
	[ -n "$kver" ] && [ "$(echo "$kver" | wc -l)" = 1 ] ||
		die "$kdir/boot needs exactly one vmlinuz-KVER"
	[ -f "$kdir/lib/modules/$kver/modules.dep" ] ||
		die "$kdir/lib/modules/$kver has no modules.dep (depmod -b $kdir $kver)"
else
	kver=$(root_kver)
fi
kroot=${kdir:-$ROOT}
[ -n "$stock" ] || [ -f "$TOP/rdma_rxe.ko" ] || die "rdma_rxe.ko not built; run make"

# The initramfs: static busybox, the 9p/overlay modules (decompressed:
# busybox insmod cannot read .ko.xz) and scripts/initramfs-init.
initrd=$RXE_ODP_CACHE/initramfs-$kver.cpio.gz
istamp=$(cat "$TOP/scripts/initramfs-init" "$ROOT/.rxe-odp-stamp" \
	${kdir:+"$kdir/lib/modules/$kver/modules.dep"} | sha1sum | cut -c1-12)
# Guests under different --lock names may start together: one builds.
exec 8> "$RXE_ODP_CACHE/initramfs.lock"
flock 8
if [ "$(cat "$initrd.stamp" 2>/dev/null)" != "$istamp" ]; then
	log "building $initrd"
	tmp=$(mktemp -d)
	mkdir -p "$tmp"/{bin,proc,sys,dev,modules}
	cp "$ROOT/usr/bin/busybox" "$tmp/bin/busybox"
	file "$tmp/bin/busybox" 2>/dev/null | grep -q 'statically linked' ||
		ldd "$tmp/bin/busybox" 2>&1 | grep -q 'not a dynamic' ||
		die "$ROOT/usr/bin/busybox is not static (busybox-static)"
	cp "$TOP/scripts/initramfs-init" "$tmp/init"
	moddir=$kroot/lib/modules/$kver
	# Resolve dependencies from modules.dep, deepest first.
	resolve() {
		local m=$1 dep
		for dep in $(grep "^[^:]*/$m.ko[^:]*:" "$moddir/modules.dep" | cut -d: -f2); do
			resolve "$(basename "$dep" | sed 's/\.ko.*//')"
		done
		grep -qx "$m" "$tmp/modules.order" 2>/dev/null || echo "$m" >> "$tmp/modules.order"
	}
	: > "$tmp/modules.order"
	for m in 9pnet 9pnet_virtio 9p overlay; do
		# Built into the kernel (the debug kernel): nothing to load.
		grep -q "/$m\.ko\$" "$moddir/modules.builtin" 2>/dev/null && continue
		resolve "$m"
	done
	while read -r m; do
		f=$(grep -o "^[^:]*/$m\.ko[^:]*" "$moddir/modules.dep")
		case $f in
		*.xz) xz -dc "$moddir/$f" > "$tmp/modules/$m.ko" ;;
		*.zst) zstd -qdc "$moddir/$f" > "$tmp/modules/$m.ko" ;;
		*) cp "$moddir/$f" "$tmp/modules/$m.ko" ;;
		esac
	done < "$tmp/modules.order"
	(cd "$tmp" && find . | cpio -o -H newc --quiet | gzip -1) > "$initrd"
	rm -rf "$tmp"
	echo "$istamp" > "$initrd.stamp"
fi
exec 8>&-

rm -rf "$run"
mkdir -p "$run"
run=$(cd "$run" && pwd)
# One argument is a shell command line; several are a quoted argv.
if [ $# = 1 ]; then
	echo "$1" > "$run/cmd.sh"
else
	printf '%q ' "$@" > "$run/cmd.sh"
	echo >> "$run/cmd.sh"
fi
{
	echo "export RXE_ODP_OUT=/mnt/run"
	[ -n "$stock" ] && echo "export RXE_ODP_STOCK=1"
	env | grep -E '^RXE_ODP_(T|TEST)[A-Z_]*=' | sed 's/^/export /' || true
} > "$run/env.sh"

# log_buf_len: the OOM reports of the cgroup tests must not push a complaint
# out of the kernel log before dmesg.txt is written.
cmdline="console=ttyS0 loglevel=4 log_buf_len=8M page_poison=1 init_on_free=1 panic=-1"
cmdline="$cmdline oops=panic softlockup_panic=0 mitigations=off"
[ -n "$pow" ] && cmdline="$cmdline panic_on_warn=1"
[ -n "$kdir" ] && cmdline="$cmdline rxe_odp_kmods=1"
[ -n "$ip" ] && cmdline="$cmdline rxe_odp_ip=$ip${mtu:+ rxe_odp_mtu=$mtu}"
[ -n "$share" ] && cmdline="$cmdline rxe_odp_share=1"
cmdline="$cmdline $append"
nic=
[ -n "$net" ] && nic="-netdev socket,id=n0,$net -device virtio-net-pci,netdev=n0,mac=$mac"
if [ -n "$icount" ]; then
	accel="-accel tcg,thread=single -icount shift=0,sleep=off"
	smp=1
else
	accel="-accel tcg,thread=multi"
fi
fs() { echo "-fsdev local,id=$1,path=$2,security_model=none$3 -device virtio-9p-pci,fsdev=$1,mount_tag=$1"; }

# A boot that dies before the guest runs anything of ours is a flake of
# the emulated machine (seen: an int3 Oops while the kernel patches its
# own text under multi-threaded TCG); it is retried once, loudly.
for boot in 1 2; do
	log "booting $kver (${mem} MiB, $smp vCPU${icount:+, icount}, $(qemu-system-x86_64 --version | sed -n "s/^QEMU emulator version \([^ ]*\).*/QEMU \1/p")); log in $run/console.log"
	set +e
	# shellcheck disable=SC2046,SC2086
	timeout --foreground -k 10 "$tmo" qemu-system-x86_64 $accel -cpu max \
		-smp "$smp" -m "$mem" -nographic -no-reboot -nic none \
		-kernel "$kroot/boot/vmlinuz-$kver" -initrd "$initrd" \
		-append "$cmdline" \
		$(fs root "$ROOT" ",readonly=on") $(fs src "$TOP" ",readonly=on") \
		$(fs run "$run" "") \
		${kdir:+$(fs kmods "$kdir/lib/modules/$kver" ",readonly=on")} \
		${share:+$(fs share "$share" "")} $nic \
		-chardev stdio,id=con,signal=off,logfile="$run/console.log" \
		-serial chardev:con -monitor none $qextra < /dev/null
	qrc=$?
	set -e
	[ -f "$run/status" ] || [ "$qrc" = 124 ] || [ "$qrc" = 137 ] && break
	grep -q 'guest: up after' "$run/console.log" && break
	[ $boot = 2 ] && break
	log "RETRY: the guest died while booting, before running anything; console tail:"
	tail -n 30 "$run/console.log" >&2
	mv "$run/console.log" "$run/console-failed-boot.log"
done
if [ -f "$run/status" ]; then
	rc=$(cat "$run/status")
	[ "$rc" -ge 124 ] && [ "$rc" -le 125 ] && rc=1
	exit "$rc"
fi
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	log "TIMEOUT: the guest did not finish within $tmo s; console tail:"
	tail -n 40 "$run/console.log" >&2
	exit 124
fi
log "the guest never reported (QEMU exit $qrc): panic or crash; console tail:"
tail -n 60 "$run/console.log" >&2
exit 125
