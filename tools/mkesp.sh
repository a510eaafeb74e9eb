#!/usr/bin/env bash
# mkesp.sh OUT.img CONFIG [extra files for /postern/...]
# A FAT EFI system partition image: EFI/BOOT/BOOTX64.EFI (postern.efi), the guest kernel and
# initramfs, and the config. Built with mtools: no root, no loop mounts.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=$1 cfg=$2
shift 2
rm -f "$out"
mkfs.vfat -C -n POSTERN "$out" 65536 >/dev/null
mmd -i "$out" ::/EFI ::/EFI/BOOT ::/postern
mcopy -i "$out" "$top/build/postern.efi" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$out" "$top/build/guest/vmlinuz" ::/postern/vmlinuz
mcopy -i "$out" "$top/build/guest/initrd.img" ::/postern/initrd.img
mcopy -i "$out" "$cfg" ::/postern/postern.cfg
for f in "$@"; do mcopy -i "$out" "$f" ::/postern/; done
