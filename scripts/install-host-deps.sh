#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
#
# Install (idempotently) what the host needs to create the Debian 13 root,
# build the module in it and boot it in QEMU.  Does nothing, and needs no
# network, when every package is already installed.
#
#   scripts/install-host-deps.sh
#
# Which command comes from which package (scripts/*.sh):
#   debootstrap          mkroot.sh
#   qemu-system-x86_64   vm.sh (qemu-system-x86)
#   cpio, gzip, xz, zstd vm.sh: the initramfs and its decompressed modules
#   file                 vm.sh: busybox must be static
#   flock, mountpoint    build.sh, vm.sh (util-linux)
#   timeout, join        vm.sh, check.sh (coreutils, always there)
#   modinfo              check.sh (kmod)
#   readelf              check.sh and the guest suite (binutils)
#   perl                 checkpatch.pl and kernel-doc in check.sh
#   patch                build.sh: the patch series
#   make                 the top Makefile
#   ca-certificates      an https mirror in RXE_ODP_MIRROR
set -euo pipefail
. "$(dirname "$0")/common.sh"

PKGS="debootstrap qemu-system-x86 cpio xz-utils zstd gzip file util-linux
perl binutils kmod ca-certificates patch make coreutils"
CMDS="debootstrap qemu-system-x86_64 cpio xz zstd gzip file flock mountpoint
perl readelf modinfo patch make timeout join"

# One dpkg-query for all: "name ii " per installed package.
# shellcheck disable=SC2086
have=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' $PKGS 2>/dev/null || true)
missing=
for p in $PKGS; do
	echo "$have" | grep -q "^$p ii" || missing="$missing $p"
done

if [ -z "$missing" ]; then
	log "host packages present"
else
	log "host packages missing:$missing"
	[ "$(id -u)" = 0 ] || die "run as root to install them (apt-get)"
	command -v apt-get >/dev/null || die "no apt-get: install$missing by hand"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $PKGS
fi

# PATH may lack the sbin directories for a non-login root shell.
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin
bad=
for c in $CMDS; do
	command -v "$c" >/dev/null || bad="$bad $c"
done
[ -z "$bad" ] || die "still missing on the host after the install:$bad"
