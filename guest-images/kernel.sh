#!/usr/bin/env bash
# kernel.sh OUTDIR: copy the kernel of Debian's linux-image-amd64 (the exact versioned package it
# depends on) to OUTDIR/vmlinuz, its package name + version to OUTDIR/kernel-version and its
# release (the /lib/modules/RELEASE name) to OUTDIR/kernel-release.
# This is the one place that decides the guest kernel: modules.sh, christoize's default --kdir and
# the tests read kernel-release; nothing else names a Debian kernel ABI version.
# Files are only rewritten when they change, so make does not rebuild what depends on them.
set -euo pipefail
out=$1
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
installed linux-image-amd64 || { echo "kernel.sh: linux-image-amd64 is not installed (make deps, or apt-get install linux-image-amd64)" >&2; exit 1; }
# Depends looks like "linux-image-<release> (= <package version>)"
pkg=$(dpkg-query -W -f='${Depends}' linux-image-amd64 | grep -o 'linux-image-[0-9][^ ,]*' | head -n 1)
[ -n "$pkg" ] && installed "$pkg" || { echo "kernel.sh: linux-image-amd64 depends on '${pkg:-?}', which is not installed" >&2; exit 1; }
img=/boot/vmlinuz-${pkg#linux-image-}
[ -r "$img" ] || { echo "kernel.sh: $img missing although $pkg is installed" >&2; exit 1; }
cmp -s "$img" "$out/vmlinuz" || cp "$img" "$out/vmlinuz"
ver="$pkg $(dpkg-query -W -f='${Version}' "$pkg")"
[ "$(cat "$out/kernel-version" 2>/dev/null)" = "$ver" ] || echo "$ver" > "$out/kernel-version"
rel=${pkg#linux-image-}
[ "$(cat "$out/kernel-release" 2>/dev/null)" = "$rel" ] || echo "$rel" > "$out/kernel-release"
echo "  KERNEL  $ver"
