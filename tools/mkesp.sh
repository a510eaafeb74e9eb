#!/usr/bin/env bash
# mkesp.sh OUT.img CONFIG [extra files → /postern/]
# A 64 MiB FAT EFI system partition image: EFI/BOOT/BOOTX64.EFI (build/postern.efi), postern/vmlinuz,
# postern/initrd.img (build/guest), postern/postern.cfg, the guest's *.gmeta and postern/admin.pub (the
# public key they are signed with). mtools only: no root, no loop mounts.
# Env: EFI_APP (default build/postern.efi), GUEST_DIR (default build/guest), ADMIN_PUB (default
# GUEST_DIR/admin.pub; skipped when absent).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 2 ] || { echo "usage: $0 OUT.img CONFIG [extra files...]" >&2; exit 2; }
out=$1 cfg=$2
shift 2
efi=${EFI_APP:-$top/build/postern.efi} guest=${GUEST_DIR:-$top/build/guest}
for f in "$efi" "$guest/vmlinuz" "$guest/initrd.img" "$cfg" "$@"; do
    [ -r "$f" ] || { echo "mkesp: $f missing (make efi guest)" >&2; exit 1; }
done
rm -f "$out"
mkfs.vfat -C -n POSTERN "$out" 65536 >/dev/null # 65536 KiB blocks = 64 MiB, FAT16
export MTOOLS_SKIP_CHECK=1
mmd -i "$out" ::/EFI ::/EFI/BOOT ::/postern
mcopy -i "$out" "$efi" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$out" "$guest/vmlinuz" "$guest/initrd.img" ::/postern/
mcopy -i "$out" "$cfg" ::/postern/postern.cfg
# Guarded-module metadata the guest image was built with (the config names what it preloads).
for f in "$guest"/modules/*.gmeta; do [ -r "$f" ] && mcopy -i "$out" "$f" ::/postern/; done
# The administrator's public key they are signed with (admin_key = /postern/admin.pub).
pub=${ADMIN_PUB:-$guest/admin.pub}
[ ! -r "$pub" ] || mcopy -i "$out" "$pub" ::/postern/admin.pub
# -o: an extra file may replace one of the above without mtools asking on the terminal.
for f in "$@"; do mcopy -o -i "$out" "$f" ::/postern/; done
