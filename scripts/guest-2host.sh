#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
#
# Guest half of the two-host runs (scripts/two-host-lib.sh drives them from
# the host).  Run by scripts/vm.sh as the guest command:
#
#   scripts/guest-2host.sh agent NAME
#
# The agent serves the directory /mnt/share/NAME (vm.sh --share): it runs
# cmd.1, cmd.2, ... in order as they appear, each a bash script whose first
# line is "#tmo SECONDS", with this file sourced for the helpers below.  The
# output goes to out.N, the exit status to rc.N (written last: the host
# waits for it).  A file kill.N stops command N (SIGTERM to all its
# processes), quit ends the agent.  "up" says the agent runs.
#
# Helpers for the commands:
#   serve PORT CMD...   run a server in the background, write ready.N once
#                       PORT listens (TCP, or an RDMA CM ID), then wait for
#                       it; its status is the command's
#   counters            rxe0's hw_counters, one "name value" a line
#   gid_index           rxe0's IPv4-mapped RoCE v2 GID index
#   perf_client CMD...  a perftest client, failing without valid figures

SHARE=/mnt/share
DEV=${RXE_DEV:-rxe0}

# Is PORT being listened on, as TCP or by an RDMA CM ID?
listening() {
	local port=$1
	ss -Hltn "sport = :$port" 2>/dev/null | grep -q . && return 0
	rdma resource show cm_id 2>/dev/null |
		grep -E "state LISTEN .*:$port( |$)" | grep -q .
}

serve() {
	local port=$1 pid i
	shift
	"$@" &
	pid=$!
	for i in $(seq 1 600); do
		if listening "$port"; then
			touch "$SHARE/$RXE_2H_NAME/ready.$RXE_2H_SEQ"
			break
		fi
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
	done
	wait $pid
}

# The index of rxe0's IPv4-mapped RoCE v2 GID (of the eth0 address).
gid_index() {
	local f i
	for f in /sys/class/infiniband/"$DEV"/ports/1/gids/*; do
		i=${f##*/}
		case $(cat "$f") in
		0000:0000:0000:0000:0000:ffff:*) ;;
		*) continue ;;
		esac
		[ "$(cat "/sys/class/infiniband/$DEV/ports/1/gid_attrs/types/$i" 2>/dev/null)" = \
			"RoCE v2" ] && { echo "$i"; return 0; }
	done
	echo "no IPv4-mapped RoCE v2 GID on $DEV" >&2
	return 1
}

# A perftest client: its output, and a failure unless every result row has
# a positive 4th column (the average bandwidth, or t_max of the _lat tools).
perf_client() {
	local out rc
	out=$("$@" 2>&1)
	rc=$?
	echo "$out"
	[ $rc = 0 ] || return $rc
	echo "$out" | awk '/^ *[0-9]+ +[0-9]+ / {
			n++
			if ($4 ~ /^[0-9]*\.?[0-9]+$/ && $4 + 0 > 0) ok++
		}
		END { exit !(n > 0 && ok == n) }' ||
		{ echo "perf_client: no valid figures"; return 1; }
}

counters() {
	local f
	for f in /sys/class/infiniband/"$DEV"/ports/1/hw_counters/*; do
		echo "$(basename "$f") $(cat "$f")"
	done
}

agent() {
	local name=$1 dir=$SHARE/$1 n=1 tmo rc pid killed
	[ -d "$dir" ] || { echo "guest-2host: no $dir"; return 1; }
	{
		echo "kernel $(uname -r)"
		echo "ip ${RXE_ODP_IP:-} netdev ${RXE_ODP_NETDEV:-}"
		echo "module $(modinfo -n rdma_rxe 2>/dev/null)"
		ibv_devinfo -d "$DEV" | grep -E 'active_mtu|state'
	} > "$dir/up.tmp"
	mv "$dir/up.tmp" "$dir/up"
	echo "guest-2host: agent $name serving $dir"
	while [ ! -e "$dir/quit" ]; do
		if [ ! -e "$dir/cmd.$n" ]; then
			sleep 0.2
			continue
		fi
		read -r _ tmo < "$dir/cmd.$n"
		# timeout(1) signals its whole process group: servers too.
		RXE_2H_NAME=$name RXE_2H_SEQ=$n timeout -k 10 "${tmo:-300}" \
			bash -c '. scripts/guest-2host.sh; . "$1"' guest-2host \
			"$dir/cmd.$n" > "$dir/out.$n" 2>&1 &
		pid=$! killed=
		while kill -0 $pid 2>/dev/null; do
			if [ -z "$killed" ] && [ -e "$dir/kill.$n" ]; then
				kill -TERM $pid
				killed=1
			fi
			sleep 0.2
		done
		wait $pid
		rc=$?
		[ -n "$killed" ] && echo "guest-2host: killed on request" >> "$dir/out.$n"
		echo "$rc" > "$dir/rc.$n.tmp"
		mv "$dir/rc.$n.tmp" "$dir/rc.$n"
		n=$((n + 1))
	done
	echo "guest-2host: agent $name quits after $((n - 1)) commands"
}

export -f listening serve counters gid_index perf_client
export DEV SHARE
if [ "${1:-}" = agent ]; then
	agent "$2"
fi
