#!/usr/bin/env bash
# mkesp.sh OUT.img CONFIG [extra files → /postern/]
# A 64 MiB FAT16 EFI system partition image with Postern's layout (tools/esp.sh esp_fill: the
# loader as EFI/BOOT/BOOTX64.EFI, kernel, initrd, CONFIG as postern/postern.cfg, the guest's *.gmeta,
# admin.pub). The integration tests' disk; `make usb` (tools/mkusb.sh) wraps the same layout in a
# GPT disk image for a USB stick. mtools only: no root, no loop mounts.
# Env: EFI_APP, GUEST_DIR, ADMIN_PUB as tools/esp.sh says.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
source "$top/tools/esp.sh"
[ $# -ge 2 ] || { echo "usage: $0 OUT.img CONFIG [extra files...]" >&2; exit 2; }
out=$1
shift
esp_check "${EFI_APP:-$top/build/postern.efi}" "${GUEST_DIR:-$top/build/guest}/vmlinuz" "$1" || exit 1
rm -f "$out"
mkfs.vfat -C -n POSTERN "$out" 65536 >/dev/null # 65536 KiB blocks = 64 MiB, FAT16
esp_fill "$out" "$@"
