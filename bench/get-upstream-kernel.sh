#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
#
# Fetch the anchor kernel: trixie-backports' linux-image-amd64 (7.x, with
# upstream rxe ODP), extracted, never installed, into a cache directory:
#
#   bench/get-upstream-kernel.sh [DIR]     (default $RXE_ODP_CACHE/kernel-upstream)
#
# DIR then holds boot/vmlinuz-KVER and lib/modules/KVER with a module index
# (depmod), ready for `scripts/vm.sh --kernel-dir DIR`.  The script prints
# DIR.  It is idempotent: a finished DIR carries a stamp naming the .deb and
# is left alone; `RXE_ODP_UPSTREAM_REFRESH=1` looks for a newer upload.
#
# apt runs on the host with a scratch state directory and the root's Debian
# keyring: neither the host's nor the root's apt configuration is touched.
set -euo pipefail
. "$(dirname "$0")/../scripts/common.sh"

dir=${1:-$RXE_ODP_CACHE/kernel-upstream}
suite=${RXE_ODP_UPSTREAM_SUITE:-trixie-backports}
meta=${RXE_ODP_UPSTREAM_PKG:-linux-image-amd64}
stamp=$dir/.rxe-odp-kernel

if [ -f "$stamp" ] && [ -z "${RXE_ODP_UPSTREAM_REFRESH:-}" ]; then
	echo "$dir"
	exit 0
fi
command -v apt-get >/dev/null || die "host needs apt-get"
command -v dpkg-deb >/dev/null || die "host needs dpkg-deb"
keyring=$ROOT/usr/share/keyrings/debian-archive-keyring.gpg
[ -f "$keyring" ] || die "no Debian keyring in the root ($keyring); run scripts/mkroot.sh"

apt=$RXE_ODP_CACHE/apt-upstream
mkdir -p "$apt"/{lists/partial,archives/partial,etc/none} "$dir"
echo "deb [signed-by=$keyring] $MIRROR $suite main" > "$apt/etc/sources.list"
: > "$apt/status"
aopt=(-o "Dir::Etc::sourcelist=$apt/etc/sources.list"
	-o "Dir::Etc::sourceparts=$apt/etc/none" -o "Dir::Etc::preferencesparts=$apt/etc/none"
	-o "Dir::State::Lists=$apt/lists" -o "Dir::State::status=$apt/status"
	-o "Dir::Cache=$apt" -o "Dir::Cache::archives=$apt/archives"
	-o "APT::Architecture=amd64" -o "APT::Architectures=amd64"
	-o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")
log "apt: $suite index"
apt-get -q "${aopt[@]}" update >&2
# The metapackage depends on the versioned image package (the signed one).
img=$(apt-cache "${aopt[@]}" depends "$meta" 2>/dev/null |
	awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
[ -n "$img" ] || die "$meta in $suite names no linux-image-N package"
ver=$(apt-cache "${aopt[@]}" policy "$img" | awk '/Candidate:/ { print $2 }')
want="$img $ver"
if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
	echo "$dir"
	exit 0
fi
# Since 7.x the image package is a shell over linux-binary-KVER (vmlinuz)
# and linux-modules-KVER (+ linux-base-KVER): take every dependency that
# carries the image's own release suffix.
suffix=${img#linux-image-}
pkgs="$img $(apt-cache "${aopt[@]}" depends "$img" 2>/dev/null |
	awk -v s="$suffix" '/Depends: linux-/ && index($2, s) { print $2 }' | sort -u)"
rm -rf "$dir.tmp"
mkdir -p "$dir.tmp"
for p in $pkgs; do
	log "apt: downloading $p $ver"
	(cd "$apt/archives" && apt-get -q "${aopt[@]}" download "$p=$ver" >&2)
	deb=$(ls -t "$apt/archives/${p}_"*.deb | head -1)
	log "extracting $(basename "$deb")"
	dpkg-deb -x "$deb" "$dir.tmp"
done
# Debian's merged /usr: modules may sit under usr/lib.
if [ ! -d "$dir.tmp/lib/modules" ] && [ -d "$dir.tmp/usr/lib/modules" ]; then
	mkdir -p "$dir.tmp/lib"
	mv "$dir.tmp/usr/lib/modules" "$dir.tmp/lib/modules"
fi
kver=$(ls "$dir.tmp/lib/modules")
[ "$(echo "$kver" | wc -l)" = 1 ] || die "several kernels in $pkgs"
# 7.x ships the image as lib/modules/KVER/vmlinuz; vm.sh boots boot/.
mkdir -p "$dir.tmp/boot"
[ -f "$dir.tmp/boot/vmlinuz-$kver" ] ||
	ln "$dir.tmp/lib/modules/$kver/vmlinuz" "$dir.tmp/boot/vmlinuz-$kver"
# The package's postinst makes the module index; do it here.
depmod -b "$dir.tmp" "$kver"
for m in 9p 9pnet_virtio overlay rdma_rxe; do
	grep -q "/$m\.ko" "$dir.tmp/lib/modules/$kver/modules.dep" ||
		die "$kver has no $m module"
done
rm -rf "$dir"
mv "$dir.tmp" "$dir"
echo "$want" > "$stamp"
log "anchor kernel $kver in $dir"
echo "$dir"
