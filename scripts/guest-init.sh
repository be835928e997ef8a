#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
#
# PID 1 in the guest: prepare the system, install the freshly built
# rdma_rxe.ko in updates/, create rxe0 on lo, run /mnt/run/cmd.sh, leave
# its exit status and the kernel log in /mnt/run and power off.
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

off() {
	sync
	echo o > /proc/sysrq-trigger
	sleep 10
}

setup() {
	local kver ko
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
	modprobe rdma_rxe || return 1
	rdma link add rxe0 type rxe netdev lo || return 1
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
