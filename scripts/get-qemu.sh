#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
#
# Put a newer QEMU (Debian bookworm-backports' qemu-system-x86) into
# $RXE_ODP_CACHE/qemu without touching the host's packages: the .debs are
# downloaded with a private apt state and unpacked there, and common.sh
# puts $RXE_ODP_CACHE/qemu/bin first in PATH.  Idempotent; needs the
# network only the first time.
#
#   scripts/get-qemu.sh
#
# Why: the two-host guests (one vCPU each, QEMU 7.2.22 of Debian 12) died
# now and then with EFLAGS that no real flags register can hold (README,
# "known problems").  Only on Debian 12 hosts (backports is built for
# them); elsewhere, or when the download fails, the system QEMU stays in
# use and this says so.  RXE_ODP_SYSTEM_QEMU=1 skips it.  The firmware
# (SeaBIOS, option ROMs) stays the host's, from its qemu-system-data.
set -euo pipefail
. "$(dirname "$0")/common.sh"

SUITE=bookworm-backports
PKGS="qemu-system-x86 qemu-system-common"
dir=$RXE_ODP_CACHE/qemu
qemu=$dir/bin/qemu-system-x86_64

if [ -n "${RXE_ODP_SYSTEM_QEMU:-}" ]; then
	log "RXE_ODP_SYSTEM_QEMU set: using the system QEMU"
	exit 0
fi
if [ -x "$qemu" ] && "$qemu" --version >/dev/null 2>&1; then
	log "QEMU in $dir: $("$qemu" --version | head -n1)"
	exit 0
fi
# shellcheck disable=SC1091
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
if [ "$codename" != bookworm ]; then
	log "host is not Debian 12 ($codename): using the system QEMU"
	exit 0
fi

fallback() {
	log "no $SUITE QEMU ($*): using the system QEMU"
	rm -rf "$dir"
	exit 0
}

rm -rf "$dir"
mkdir -p "$dir/apt/lists/partial" "$dir/apt/archives/partial" "$dir/debs"
echo "deb $MIRROR $SUITE main" > "$dir/apt/sources.list"
aptopts=(-o "Dir::Etc::sourcelist=$dir/apt/sources.list"
	 -o "Dir::Etc::sourceparts=-" -o "Dir::State::Lists=$dir/apt/lists"
	 -o "Dir::Cache::archives=$dir/apt/archives"
	 -o "APT::Sandbox::User=root" -q)
apt-get "${aptopts[@]}" update >/dev/null || fallback "apt-get update failed"
# shellcheck disable=SC2086
(cd "$dir/debs" && apt-get "${aptopts[@]}" download $PKGS >/dev/null) ||
	fallback "apt-get download failed"
for d in "$dir"/debs/*.deb; do
	dpkg -x "$d" "$dir/root" || fallback "dpkg -x $d failed"
done
mkdir -p "$dir/bin"
cat > "$qemu" <<EOS
#!/bin/sh
# $SUITE's QEMU, unpacked by scripts/get-qemu.sh
QEMU_MODULE_DIR=$dir/root/usr/lib/x86_64-linux-gnu/qemu exec $dir/root/usr/bin/qemu-system-x86_64 "\$@"
EOS
chmod +x "$qemu"
if ldd "$dir/root/usr/bin/qemu-system-x86_64" | grep -q 'not found' ||
   ! "$qemu" -accel help 2>/dev/null | grep -qx tcg; then
	fallback "the unpacked binary does not run here"
fi
rm -rf "$dir/apt" "$dir/debs"
log "QEMU in $dir: $("$qemu" --version | head -n1)"
