#!/usr/bin/env bash
# make run: Postern + the Linux guest in QEMU, serial console on this terminal.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
source "$top/tools/qemu.sh"
mkdir -p "$top/build/run"
"$top/tools/mkesp.sh" "$top/build/run/esp.img" "${POSTERN_CFG:-$top/tools/postern.cfg}"
echo "Booting OVMF → Postern → Linux (about 20 s under emulation). Quit QEMU with Ctrl-A X."
qemu_postern "$top/build/run/esp.img" "$top/build/run/vars.fd" -serial mon:stdio
