#!/usr/bin/env bash
# Installs the Debian packages Postern needs, only those missing. Idempotent; quiet when all is there.
set -euo pipefail
PKGS=(gcc make nasm gnu-efi ovmf qemu-system-x86 mtools dosfstools fdisk busybox-static cpio acpica-tools
      linux-image-amd64 linux-headers-amd64 linux-source libcmocka-dev libmbedtls-dev libelf-dev clang python3
      valgrind gcc-multilib xz-utils bochs bochs-term vgabios clang-format shellcheck cppcheck systemd-boot-efi)
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}"
SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
