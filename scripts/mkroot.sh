#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
#
# Create (idempotently) the Debian 13 root that the module is built in and
# that QEMU boots.  Default location /var/tmp/rxe-odp/root-trixie, override
# with RXE_ODP_CACHE or RXE_ODP_ROOT.  A finished root carries a stamp that
# names the package list; a second run with the same list does nothing.
set -euo pipefail
. "$(dirname "$0")/common.sh"

PKGS="rdma-core ibverbs-utils ibverbs-providers libibverbs-dev librdmacm-dev
perftest rdmacm-utils python3-pyverbs iproute2 kmod procps util-linux
busybox-static gcc make libc6-dev linux-image-amd64
linux-headers-amd64 linux-source-6.12 xz-utils zstd sparse bc flex bison
libelf-dev libssl-dev dwarves cpio numactl libnuma-dev iputils-ping
python3 strace cmake pkgconf cython3 python3-dev"

stamp=$ROOT/.rxe-odp-stamp
want=$(echo $PKGS | tr ' ' '\n' | sort | sha1sum | cut -c1-12)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	log "root $ROOT is ready"
	exit 0
fi
[ "$(id -u)" = 0 ] || die "mkroot.sh must run as root (debootstrap, chroot)"
command -v debootstrap >/dev/null || die "host needs debootstrap (apt-get install debootstrap)"

mkdir -p "$RXE_ODP_CACHE"
if [ ! -x "$ROOT/usr/bin/apt-get" ] || [ ! -f "$ROOT/.debootstrap-done" ]; then
	rm -rf "$ROOT"
	log "debootstrap trixie into $ROOT"
	debootstrap --variant=minbase --arch=amd64 trixie "$ROOT" "$MIRROR"
	touch "$ROOT/.debootstrap-done"
fi

cat > "$ROOT/etc/apt/sources.list" <<SRC
deb $MIRROR trixie main
deb $MIRROR trixie-updates main
deb $SECMIRROR trixie-security main
SRC
# No daemon may start inside the chroot.
printf '#!/bin/sh\nexit 101\n' > "$ROOT/usr/sbin/policy-rc.d"
chmod 755 "$ROOT/usr/sbin/policy-rc.d"
echo rxe-odp > "$ROOT/etc/hostname"

cleanup() {
	umount "$ROOT/proc" 2>/dev/null || true
	umount "$ROOT/dev/pts" 2>/dev/null || true
	umount "$ROOT/dev" 2>/dev/null || true
}
trap cleanup EXIT
mount -t proc proc "$ROOT/proc"
mount --bind /dev "$ROOT/dev"
mount -t devpts devpts "$ROOT/dev/pts"

in_root() { chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"; }
in_root apt-get update -q
in_root apt-get install -y -q --no-install-recommends $PKGS
in_root apt-get clean
echo "$want" > "$stamp"
cleanup
log "root ready: kernel $(root_kver), $(du -shx "$ROOT" | cut -f1)"
