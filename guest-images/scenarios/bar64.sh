#!/bin/sh
# A 64-bit BAR the firmware put above 4 GiB (ivshmem-plain's BAR 2, 1af4:1110) is reachable: the
# nested page tables cover the whole physical address width.
dev=
for d in /sys/bus/pci/devices/*; do
    [ "$(cat "$d/vendor"):$(cat "$d/device")" = 0x1af4:0x1110 ] && dev=${d##*/}
done
if [ -z "$dev" ]; then echo "FAIL bar64 (no ivshmem device)"; exit 0; fi
start=$(sed -n 3p "/sys/bus/pci/devices/$dev/resource" | cut -d' ' -f1)
echo "ivshmem $dev BAR 2 at $start"
if [ $((start)) -ge $((1 << 32)) ]; then echo "PASS bar64-above-4g"; else echo "FAIL bar64-above-4g"; fi
if hvprobe barrw "$dev" 2; then echo "PASS bar64-rw"; else echo "FAIL bar64-rw"; fi
