# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# shellcheck shell=bash disable=SC2034
# Two QEMU guests on one virtual link, driven from the host; sourced (after
# common.sh) by scripts/check-2host.sh and bench/two-host.sh, never run.
#
# Guest a listens on a QEMU socket netdev at 127.0.0.1:PORT, guest b
# connects to it; each has rxe0 on its eth0 (TH_IP_a, TH_IP_b).  Both run
# scripts/guest-2host.sh as an agent on a shared 9p directory: the host
# writes numbered command files, the guest runs them and leaves the output
# and exit status next to them.
#
#   th_init DIR            run directory (DIR/a, DIR/b: vm.sh run dirs;
#                          DIR/share: the commands; DIR/logs: one log a step)
#   th_boot                boot both (vm.sh options of each in the arrays
#                          TH_VM_a and TH_VM_b), wait until both agents run
#   th_run G TMO SCRIPT    run SCRIPT on guest G (a or b), print its output,
#                          return its status
#   th_pair G1 PORT SERVER G2 CLIENT [TMO]
#                          SERVER on G1 (ready once PORT listens), then
#                          CLIENT on G2; fails if either fails
#   th_step NAME FUNC ARGS...
#                          a reported step: PASS/FAIL NAME (SKIP when FUNC
#                          returns 4, with its last line); a failure prints
#                          the step's log tail and both guests' dmesg tails
#   th_shutdown            stop the agents, wait for both VMs
#   th_dmesg_check         a step: both guests' kernel logs are clean
#
# Guests are bounded by TH_TMO (vm.sh -t) and every command by its TMO.

TH_IP_a=${RXE_2H_IP_A:-10.77.0.1}
TH_IP_b=${RXE_2H_IP_B:-10.77.0.2}
TH_MTU=${RXE_2H_MTU:-1500}
TH_TMO=${RXE_2H_TIMEOUT:-1800}
TH_VM_a=() TH_VM_b=()
TH_PASS=0 TH_FAIL=0 TH_SKIP=0
TH_BAD=		# a guest died or stopped answering: no more steps
TH_LAST=


th_init() {
	TH_DIR=$1
	rm -rf "$TH_DIR"
	mkdir -p "$TH_DIR"/share/a "$TH_DIR"/share/b "$TH_DIR"/logs
	TH_DIR=$(cd "$TH_DIR" && pwd)
}

th_alive() { kill -0 "$(th_pid "$1")" 2>/dev/null; }
th_pid() { eval echo "\${TH_PID_$1:-0}"; }

# A TCP port of 127.0.0.1 that nothing listens on.
th_free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 20000))
		ss -Hltn "sport = :$p" | grep -q . || { echo $p; return; }
	done
}

th_boot() {
	local port g t0 vmopts
	port=$(th_free_port)
	for g in a b; do
		if [ $g = a ]; then
			vmopts=(--net-listen "$port")
		else
			vmopts=(--net-connect "$port")
			# b connects: a's QEMU must listen first (a may wait
			# for its lock or build the initramfs meanwhile).
			t0=$SECONDS
			until ss -Hltn "sport = :$port" | grep -q .; do
				th_alive a && [ $((SECONDS - t0)) -lt 900 ] || {
					log "guest a never listened on 127.0.0.1:$port"
					th_console_tail a
					return 1
				}
				sleep 1
			done
		fi
		eval "vmopts+=(\"\${TH_VM_$g[@]}\")"
		setsid "$TOP/scripts/vm.sh" --lock "2host-$g" -t "$TH_TMO" \
			"${vmopts[@]}" --ip "$(eval echo "\$TH_IP_$g")/24" \
			--mtu "$TH_MTU" --share "$TH_DIR/share" -o "$TH_DIR/$g" \
			-- scripts/guest-2host.sh agent $g \
			> "$TH_DIR/vm-$g.log" 2>&1 < /dev/null &
		eval "TH_PID_$g=$!"
		log "guest $g: vm.sh pid $!, log $TH_DIR/vm-$g.log, console $TH_DIR/$g/console.log"
	done
	t0=$SECONDS
	for g in a b; do
		until [ -e "$TH_DIR/share/$g/up" ]; do
			if ! th_alive $g || [ $((SECONDS - t0)) -gt 900 ]; then
				log "guest $g did not come up"
				th_console_tail a
				th_console_tail b
				return 1
			fi
			sleep 1
		done
		log "guest $g up: $(tr '\n' ' ' < "$TH_DIR/share/$g/up")"
	done
}

# "N:line" for each line of kernel log FILE that fails a run (DMESG_BAD,
# less the command line, which names page_poison, and kmemleak's start-up).
th_complaints() {
	tr -d '\r' < "$1" 2>/dev/null | grep -n -E "$DMESG_BAD" |
		grep -v -e 'ommand line:' \
			-e 'kmemleak: Kernel memory leak detector initialized' \
			-e 'kmemleak: Automatic memory scanning'
}

# The console's tail; a kernel complaint from its first line on, since the
# tail of a panic is the least telling part of it.
th_console_tail() {
	local con=$TH_DIR/$1/console.log first
	echo "--- guest $1: vm.sh output and console tail ($con):"
	tail -n 5 "$TH_DIR/vm-$1.log" 2>/dev/null
	first=$(th_complaints "$con" | head -n1 | cut -d: -f1)
	if [ -n "$first" ]; then
		# Two lines before it too: "traps: PANIC:" precedes its Oops.
		first=$((first > 2 ? first - 2 : 1))
		echo "--- guest $1: the kernel's first complaint, from console line $first:"
		tr -d '\r' < "$con" | tail -n "+$first" | head -n 80
	else
		tr -d '\r' < "$con" 2>/dev/null | tail -n "${2:-30}"
	fi
}

# Queue SCRIPT on guest G; its number in TH_LAST.
th_cmd() {
	local g=$1 tmo=$2 d=$TH_DIR/share/$1 n=1
	# Numbered by the files, not a counter: right even from a subshell.
	while [ -e "$d/cmd.$n" ]; do n=$((n + 1)); done
	eval "TH_SEQ_$g=$n"
	printf '#tmo %s\n%s\n' "$tmo" "$3" > "$d/.cmd.$n"
	mv "$d/.cmd.$n" "$d/cmd.$n"
	TH_LAST=$n
}

# Wait for command N of guest G (at most SEC seconds), print its output.
# Past SEC the command is killed; a guest that does not even manage that
# within a minute is taken for hung.
th_result() {
	local g=$1 n=$2 sec=$3 d=$TH_DIR/share/$1 t0=$SECONDS
	until [ -e "$d/rc.$n" ]; do
		if ! th_alive "$g"; then
			echo "host: guest $g is gone (command $n)"
			TH_BAD="guest $g is gone"
			return 125
		fi
		if [ $((SECONDS - t0)) -gt "$sec" ] && [ ! -e "$d/kill.$n" ]; then
			echo "host: guest $g: command $n did not end within $sec s: killing it"
			touch "$d/kill.$n"
		fi
		if [ $((SECONDS - t0)) -gt $((sec + 60)) ]; then
			echo "host: guest $g: command $n not even killed within 60 s"
			cat "$d/out.$n" 2>/dev/null
			TH_BAD="guest $g stopped answering"
			return 124
		fi
		sleep 0.3
	done
	cat "$d/out.$n"
	return "$(cat "$d/rc.$n")"
}

# Wait until command N of guest G said it is ready (or ended).
th_ready() {
	local g=$1 n=$2 sec=$3 d=$TH_DIR/share/$1 t0=$SECONDS
	until [ -e "$d/ready.$n" ] || [ -e "$d/rc.$n" ]; do
		th_alive "$g" && [ $((SECONDS - t0)) -le "$sec" ] || return 1
		sleep 0.2
	done
	[ -e "$d/ready.$n" ]
}

th_run() {
	th_cmd "$1" "$2" "$3"
	th_result "$1" "$TH_LAST" $(($2 + 60))
}

th_pair() {	# server-guest port server-script client-guest client-script [tmo]
	local sg=$1 port=$2 srv=$3 cg=$4 cli=$5 tmo=${6:-300} s crc src
	th_cmd "$sg" "$tmo" "serve $port $srv"
	s=$TH_LAST
	if ! th_ready "$sg" "$s" 120; then
		echo "host: the server on $sg never listened on port $port"
		th_result "$sg" "$s" 30
		# A server that skips (status 4) says why and never listens.
		[ $? = 4 ] && return 4
		return 1
	fi
	echo "--- client on $cg: $cli"
	th_run "$cg" "$tmo" "$cli"
	crc=$?
	echo "--- server on $sg: $srv"
	# A failed client may leave the server waiting: give it 90 s.
	th_result "$sg" "$s" "$([ $crc = 0 ] && echo $((tmo + 60)) || echo 90)"
	src=$?
	echo "--- client exit $crc, server exit $src"
	[ $crc = 4 ] && [ $src = 0 ] && return 4
	[ $src = 4 ] && return 4
	[ $crc = 0 ] && [ $src = 0 ]
}

th_diag() {
	local g
	for g in a b; do
		if [ -z "$TH_BAD" ] && th_alive $g; then
			echo "--- guest $g ($(eval echo "\$TH_IP_$g")): dmesg tail"
			# Not in a pipe: th_run counts commands in this shell.
			th_run $g 60 'dmesg | tail -n 25; echo "rxe0 counters not 0:";
				counters | grep -v " 0$" | tr "\n" " "; echo' \
				> "$TH_DIR/logs/.diag" 2>&1
			sed 's/^/    /' "$TH_DIR/logs/.diag"
		else
			th_console_tail $g 25 | sed 's/^/    /'
		fi
	done
}

th_step() {
	local name=$1 rc log
	shift
	log=$TH_DIR/logs/$name.log
	if [ -n "$TH_BAD" ]; then
		echo "FAIL $name: not run, $TH_BAD"
		TH_FAIL=$((TH_FAIL + 1))
		return 1
	fi
	"$@" > "$log" 2>&1
	rc=$?
	case $rc in
	0)
		echo "PASS $name"
		TH_PASS=$((TH_PASS + 1)) ;;
	4)
		echo "SKIP $name: $(grep -h 'SKIP' "$log" | tail -n1 | sed 's/^SKIP:* *//')"
		TH_SKIP=$((TH_SKIP + 1)) ;;
	*)
		echo "FAIL $name (exit $rc; log $log)"
		tail -n 40 "$log" | sed 's/^/    /'
		th_diag
		TH_FAIL=$((TH_FAIL + 1)) ;;
	esac
	return $rc
}

th_shutdown() {
	local g t0 rc
	touch "$TH_DIR/share/a/quit" "$TH_DIR/share/b/quit"
	for g in a b; do
		t0=$SECONDS
		while th_alive $g && [ $((SECONDS - t0)) -lt 120 ]; do
			sleep 1
		done
		if th_alive $g; then
			log "guest $g does not stop: killing its vm.sh (pid $(th_pid $g))"
			kill -TERM -- -"$(th_pid $g)" 2>/dev/null
			sleep 5
			kill -KILL -- -"$(th_pid $g)" 2>/dev/null
		fi
		wait "$(th_pid $g)" 2>/dev/null
		rc=$?
		[ $rc = 0 ] || log "guest $g: vm.sh exit $rc"
		eval "TH_RC_$g=$rc"
	done
}

th_dmesg_ok() {
	local g bad rc=0
	for g in a b; do
		if [ ! -f "$TH_DIR/$g/dmesg.txt" ]; then
			echo "guest $g left no dmesg.txt"
			th_console_tail $g 40
			rc=1
			continue
		fi
		bad=$(th_complaints "$TH_DIR/$g/dmesg.txt" | cut -d: -f2-)
		if [ -n "$bad" ]; then
			echo "guest $g: kernel log complaints:"
			echo "$bad" | head -n 20
			echo "--- guest $g: dmesg tail"
			tail -n 60 "$TH_DIR/$g/dmesg.txt"
			rc=1
		fi
	done
	return $rc
}

th_dmesg_check() {
	local bad=$TH_BAD
	TH_BAD=	# after the shutdown: report, do not skip
	th_step dmesg_clean th_dmesg_ok
	TH_BAD=$bad
}
