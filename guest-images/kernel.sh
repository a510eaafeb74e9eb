#!/usr/bin/env bash
# Copy the kernel of Debian's linux-image-amd64 (the exact versioned package it depends on).
set -euo pipefail
out=$1
pkg=$(dpkg-query -W -f='${Depends}' linux-image-amd64 2>/dev/null | grep -o 'linux-image-[0-9][^ ,]*' | head -1) || true
[ -n "$pkg" ] || { echo "kernel.sh: linux-image-amd64 is not installed (make deps installs it)" >&2; exit 1; }
ver=${pkg#linux-image-}
img=/boot/vmlinuz-$ver
[ -r "$img" ] || { echo "kernel.sh: $img missing (package $pkg)" >&2; exit 1; }
cp "$img" "$out/vmlinuz"
echo "$pkg $(dpkg-query -W -f='${Version}' "$pkg")" > "$out/kernel-version"
echo "  KERNEL  $pkg"
