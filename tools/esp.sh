#!/usr/bin/env bash
# esp.sh: what goes on Postern's EFI system partition, in one place for tools/mkesp.sh (a bare FAT
# image, the integration tests' disk) and tools/mkusb.sh (a GPT disk image for a USB stick, the
# ESP its first partition). mtools only, with an offset into a disk image: no root, no loop mounts.
#
# Sourced:
#   esp_fill TARGET CONFIG [extra files → /postern/]   an empty FAT file system → EFI/BOOT/BOOTX64.EFI
#       (build/postern.efi), postern/vmlinuz, postern/initrd.img (build/guest), postern/postern.cfg,
#       the guest's *.gmeta and postern/admin.pub (the public key they are signed with); an extra file
#       named like one of these replaces it. TARGET is an mtools image: FILE, or FILE@@OFFSET (bytes).
#   esp_offset DISK     the byte offset of DISK's first GPT partition (its ESP)
#   Env: EFI_APP (default build/postern.efi), GUEST_DIR (default build/guest), ADMIN_PUB (default
#   GUEST_DIR/admin.pub; skipped when absent).
# Run:
#   tools/esp.sh put DISK.img CONFIG [extra files]   in the ESP of a disk image from tools/mkusb.sh:
#       CONFIG becomes /postern/postern.cfg, the extra files go to /postern/ (tests/integration/run.sh
#       USB_STICK)
_esp_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export MTOOLS_SKIP_CHECK=1

# esp_check FILE...: each readable, or a message naming the build step and a non-zero return.
esp_check() {
    local f
    for f in "$@"; do
        [ -r "$f" ] || { echo "esp: $f missing (make efi guest)" >&2; return 1; }
    done
}

esp_fill() {
    local img=$1 cfg=$2 f pub
    shift 2
    local efi=${EFI_APP:-$_esp_top/build/postern.efi} guest=${GUEST_DIR:-$_esp_top/build/guest}
    esp_check "$efi" "$guest/vmlinuz" "$guest/initrd.img" "$cfg" "$@" || return
    mmd -i "$img" ::/EFI ::/EFI/BOOT ::/postern &&
    mcopy -i "$img" "$efi" ::/EFI/BOOT/BOOTX64.EFI &&
    mcopy -i "$img" "$guest/vmlinuz" "$guest/initrd.img" ::/postern/ &&
    mcopy -i "$img" "$cfg" ::/postern/postern.cfg || return
    # Guarded-module metadata the guest image was built with (the config names what it preloads).
    for f in "$guest"/modules/*.gmeta; do
        [ ! -r "$f" ] || mcopy -i "$img" "$f" ::/postern/ || return
    done
    # The administrator's public key they are signed with (admin_key = /postern/admin.pub).
    pub=${ADMIN_PUB:-$guest/admin.pub}
    [ ! -r "$pub" ] || mcopy -i "$img" "$pub" ::/postern/admin.pub || return
    # -o: an extra file may replace one of the above without mtools asking on the terminal.
    for f in "$@"; do mcopy -o -i "$img" "$f" ::/postern/ || return; done
}

# The GPT header (LBA 1) gives the partition entries' LBA (offset 72); entry 1's first LBA is at
# offset 32 of it. 512-byte sectors, as on every USB stick and in tools/mkusb.sh's images.
esp_offset() {
    local disk=$1 entries first
    [ "$(dd if="$disk" bs=1 skip=512 count=8 status=none)" = "EFI PART" ] ||
        { echo "esp: $disk has no GPT" >&2; return 1; }
    entries=$(od -An -t u8 -j $((512 + 72)) -N 8 "$disk" | tr -d ' ')
    first=$(od -An -t u8 -j $((entries * 512 + 32)) -N 8 "$disk" | tr -d ' ')
    [ "${first:-0}" -gt 0 ] || { echo "esp: $disk has no first partition" >&2; return 1; }
    echo $((first * 512))
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    [ "${1:-}" = put ] && [ $# -ge 3 ] || { echo "usage: $0 put DISK.img CONFIG [extra files...]" >&2; exit 2; }
    disk=$2 cfg=$3
    shift 3
    esp_check "$disk" "$cfg" "$@"
    img="$disk@@$(esp_offset "$disk")"
    mcopy -o -i "$img" "$cfg" ::/postern/postern.cfg
    for f in "$@"; do mcopy -o -i "$img" "$f" ::/postern/; done
fi
