#!/usr/bin/env bash
# make run: OVMF → Postern → the Linux guest in QEMU, serial console on this terminal.
#   POSTERN_CFG=file  another config (default tools/postern.cfg);  DIRECT=1  boot the guest without Postern
#   RUN_DIR=dir       where the ESP image and NVRAM copy go (default build/run)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
source "$top/tools/qemu.sh"
# The whole system: the guarded e1000 on QEMU's user network (restrict=on: the guest reaches the
# gateway 10.0.2.2 only) and an AMD-Vi IOMMU confining its DMA. NIC=none IOMMU=none to leave out
# (without an IOMMU the config must say iommu = off, else Postern refuses to start).
export NIC=${NIC:-e1000} IOMMU=${IOMMU:-amd}
echo "Quit QEMU with Ctrl-A X (Ctrl-A C toggles the QEMU monitor). Postern's admin shell: Ctrl-] s, back to the guest: Ctrl-] c. Booting takes ~15 s under emulation."
cfg=${POSTERN_CFG:-$top/tools/postern.cfg}
run=${RUN_DIR:-$top/build/run} # ESP image and NVRAM copy
mkdir -p "$run"
if [ "${DIRECT:-0}" = 1 ]; then
    qemu_direct_argv "$(config_cmdline "$cfg")"
else
    "$top/tools/mkesp.sh" "$run/esp.img" "$cfg"
    qemu_postern_argv "$run/esp.img" "$run/vars.fd"
fi
# mon:stdio multiplexes serial and monitor on the terminal, hence Ctrl-A X.
exec "${QEMU_ARGV[@]}" -serial mon:stdio 2> >(qemu_filter_warnings)
