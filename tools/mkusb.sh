#!/usr/bin/env bash
# mkusb.sh OUT.img CONFIG [extra files → /postern/]
# A disk image for a USB stick, ready for dd (README.md, "On a real machine"): GPT, one EFI system
# partition from 1 MiB to the end, FAT32 (FAT16 when USB_MIB is too small for FAT32), holding
# Postern's ESP layout (tools/esp.sh esp_fill: EFI/BOOT/BOOTX64.EFI, kernel, initrd, signed metadata,
# admin.pub, CONFIG as postern/postern.cfg) and, at the top, REPORT-BUG.txt (tools/REPORT-BUG.txt:
# what to send back after a first boot on a new machine). sfdisk and mtools on a plain file: no
# root, no loop mounts. `make usb` runs it with tools/postern-usb.cfg.
# Env: USB_MIB (the image's size in MiB, default 128: room for the guest twice over), and EFI_APP,
#   GUEST_DIR, ADMIN_PUB as tools/esp.sh says.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
source "$top/tools/esp.sh"
[ $# -ge 2 ] || { echo "usage: $0 OUT.img CONFIG [extra files...]" >&2; exit 2; }
out=$1
shift
PATH=$PATH:/usr/sbin:/sbin # sfdisk, mkfs.fat for a user whose PATH lacks them
mib=${USB_MIB:-128}
[[ $mib =~ ^[0-9]+$ ]] && [ "$mib" -ge 32 ] || { echo "mkusb: USB_MIB=$mib: at least 32 (MiB)" >&2; exit 2; }
esp_check "${EFI_APP:-$top/build/postern.efi}" "${GUEST_DIR:-$top/build/guest}/vmlinuz" "$1" "$top/tools/REPORT-BUG.txt"

start=2048 # sectors of 512 bytes: the partition starts at 1 MiB, aligned for any flash erase block
rm -f "$out"
truncate -s "${mib}M" "$out"
# GPT (protective MBR, both headers); type U is sfdisk's name for the EFI system partition GUID
# C12A7328-F81F-11D2-BA4B-00A0C93EC93B. The partition runs to the last usable sector.
sfdisk --quiet --no-reread --no-tell-kernel "$out" > /dev/null <<SFDISK
label: gpt
first-lba: $start
start=$start, type=U, name="Postern ESP"
SFDISK
read -r pstart psize < <(sfdisk --dump "$out" | sed -n 's/.*start= *\([0-9]*\), *size= *\([0-9]*\).*/\1 \2/p' | head -n 1)
[ "$pstart" = "$start" ] || { echo "mkusb: sfdisk put the partition at sector $pstart, not $start" >&2; exit 1; }
# FAT32 needs at least 65525 clusters: with 512-byte clusters (-s 1) that is a partition of about
# 34 MiB; below 40 MiB FAT16, which UEFI reads as well (its spec allows FAT12/16 on removable media).
fat=32 spc=(-s 1)
[ "$psize" -ge $((40 * 2048)) ] || fat=16 spc=()
# (mkfs.fat warns that the file is larger than the partition: it is, by the backup GPT.)
mkfs.fat -F "$fat" "${spc[@]}" -n POSTERN -h "$pstart" --offset="$pstart" "$out" $((psize / 2)) 2>&1 |
    { grep -v -e "block count mismatch" -e "^mkfs.fat [0-9]" || true; } >&2
img="$out@@$((pstart * 512))"
esp_fill "$img" "$@"
mcopy -i "$img" "$top/tools/REPORT-BUG.txt" ::/REPORT-BUG.txt
echo "mkusb: $out: ${mib} MiB, GPT, ESP at sector $pstart ($((psize / 2048)) MiB, FAT$fat)"
