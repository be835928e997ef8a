#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
#
# PID 1 in the guest: prepare the system, install the freshly built
# rdma_rxe.ko in updates/, the rebuilt rxe verbs provider and pyverbs dmabuf
# and mr extensions, create rxe0 on lo, run /mnt/run/cmd.sh, leave its exit
# status and the kernel log in /mnt/run and power off.
#
# With a NIC (vm.sh --net-listen/--net-connect --ip) the kernel command line
# carries rxe_odp_ip=ADDR/LEN [rxe_odp_mtu=N]: eth0 gets that address and
# rxe0 sits on eth0 instead; rxe_odp_share=1 mounts vm.sh --share at
# /mnt/share.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LC_ALL=C.UTF-8 TERM=dumb
RUN=/mnt/run
SRC=/mnt/rxe-odp

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
ln -sf /proc/self/fd /dev/fd
hostname rxe-odp
ip link set lo up
# The value of rxe_odp_NAME= on the kernel command line, or nothing.
karg() {
	local a
	for a in $(cat /proc/cmdline); do
		case $a in rxe_odp_$1=*) echo "${a#*=}" ;; esac
	done
}

if [ "$(karg share)" = 1 ]; then
	mkdir -p /mnt/share
	mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=none \
		share /mnt/share || echo "guest: cannot mount /mnt/share"
fi

# Power off.  The wait is bash's own read on a FIFO: once the power-off
# has begun, exec'ing sleep can fail (EIO), and init exiting panics.
off() {
	mkfifo /dev/.guest-off 2> /dev/null
	exec 9<> /dev/.guest-off
	sync
	echo o > /proc/sysrq-trigger
	read -r -t 10 -u 9 _ || :
}

setup() {
	local kver ko ip i prov py
	kver=$(uname -r)
	ko=$SRC/rdma_rxe.ko
	if [ -n "${RXE_ODP_STOCK:-}" ]; then
		echo "guest: using the stock rdma_rxe (RXE_ODP_STOCK set)"
	else
		[ -f "$ko" ] || { echo "guest: $ko missing"; return 1; }
		mkdir -p "/lib/modules/$kver/updates"
		cp "$ko" "/lib/modules/$kver/updates/rdma_rxe.ko"
		# The index was made on the host by scripts/build.sh.
		cp "$SRC"/build/depmod/modules.* "/lib/modules/$kver/" || return 1
	fi
	# The verbs provider built by userspace/build.sh (it has
	# ibv_reg_dmabuf_mr) and pyverbs' dmabuf and mr extensions (DmaBuf
	# allocates from vgem too, DmaBufMR takes it), except with the stock
	# module: Debian's there.
	py=/usr/lib/python3/dist-packages/pyverbs
	for prov in /usr/lib/x86_64-linux-gnu/libibverbs/librxe-rdmav34.so \
		$py/dmabuf.cpython-313-x86_64-linux-gnu.so \
		$py/mr.cpython-313-x86_64-linux-gnu.so; do
		if [ -z "${RXE_ODP_STOCK:-}" ] &&
			[ -f "$SRC/build/userspace/${prov##*/}" ]; then
			cp "$SRC/build/userspace/${prov##*/}" "$prov" || return 1
			echo "guest: build/userspace/${prov##*/}"
		else
			echo "guest: Debian's $prov"
		fi
	done
	modprobe rdma_rxe || return 1
	netdev=lo
	ip=$(karg ip)
	if [ -n "$ip" ]; then
		modprobe virtio_net || return 1
		netdev=eth0
		for i in 1 2 3 4 5; do
			[ -e /sys/class/net/$netdev ] && break
			sleep 1
		done
		[ -e /sys/class/net/$netdev ] ||
			{ echo "guest: no $netdev"; ls /sys/class/net; return 1; }
		ip link set "$netdev" mtu "$(karg mtu | grep . || echo 1500)" || return 1
		ip link set "$netdev" up || return 1
		ip addr add "$ip" dev "$netdev" || return 1
		hostname "rxe-odp-${ip%/*}"
		echo "guest: $netdev $ip, mtu $(cat /sys/class/net/$netdev/mtu)"
	fi
	export RXE_ODP_NETDEV=$netdev RXE_ODP_IP=${ip%/*}
	rdma link add rxe0 type rxe netdev "$netdev" || return 1
}

. "$RUN/env.sh"
echo "guest: up after $(cut -d' ' -f1 /proc/uptime) s"
if setup; then
	cd "$SRC" || off
	bash "$RUN/cmd.sh"
	rc=$?
else
	echo "guest: setup failed"
	rc=99
fi
dmesg > "$RUN/dmesg.txt"
echo "$rc" > "$RUN/status"
echo "guest: command exited with $rc after $(cut -d' ' -f1 /proc/uptime) s"
off
