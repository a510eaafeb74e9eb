#!/usr/bin/env bash
# mkuki.sh OUT.efi CMDLINE
# One EFI application that boots the guest kernel without Postern: systemd's EFI stub
# (systemd-boot-efi's linuxx64.efi.stub) with build/guest's vmlinuz, initrd.img and CMDLINE
# as its .linux, .initrd and .cmdline sections (a "unified kernel image"). As the ESP's
# EFI/BOOT/BOOTX64.EFI, OVMF starts it like postern.efi; it hands the kernel's own EFI stub the
# command line and the initrd (LINUX_EFI_INITRD_MEDIA_GUID), and the kernel boots from there.
# make bench's OVMF → Linux baseline (tests/bench/boot.sh; docs/lab/platform-notes.md: why not the bare
# vmlinuz or a startup.nsh). Env: GUEST_DIR (default build/guest), EFI_STUB (the systemd stub).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
[ $# -eq 2 ] || { echo "usage: $0 OUT.efi CMDLINE" >&2; exit 2; }
out=$1 cmdline=$2
guest=${GUEST_DIR:-$top/build/guest} stub=${EFI_STUB:-/usr/lib/systemd/boot/efi/linuxx64.efi.stub}
for f in "$stub" "$guest/vmlinuz" "$guest/initrd.img"; do
    [ -r "$f" ] || { echo "mkuki: $f missing (apt-get install systemd-boot-efi; make guest)" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '%s' "$cmdline" > "$tmp/cmdline"
# Each section at the next 1 MiB boundary above the previous one (the stub's own end first).
mib=$((1 << 20))
up() { echo $((($1 + mib - 1) / mib * mib)); }
stub_end=0
while read -r idx _ size vma _; do
    [[ $idx =~ ^[0-9]+$ ]] || continue
    [ $((16#$vma + 16#$size)) -le "$stub_end" ] || stub_end=$((16#$vma + 16#$size))
done < <(objdump -h "$stub")
cmd_vma=$(up "$stub_end")
linux_vma=$(up $((cmd_vma + $(stat -c %s "$tmp/cmdline"))))
initrd_vma=$(up $((linux_vma + $(stat -c %s "$guest/vmlinuz"))))
objcopy --add-section .cmdline="$tmp/cmdline" --change-section-vma .cmdline="$cmd_vma" \
        --add-section .linux="$guest/vmlinuz" --change-section-vma .linux="$linux_vma" \
        --add-section .initrd="$guest/initrd.img" --change-section-vma .initrd="$initrd_vma" \
        "$stub" "$out"
