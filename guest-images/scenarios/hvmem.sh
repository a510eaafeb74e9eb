#!/bin/sh
# The hypervisor's memory is not in the guest's physical address space: ask where a hypervisor
# page is, then try to read it through /dev/mem.
addr=$(hvprobe canary) || { echo "FAIL hvmem-unreachable (no canary hypercall)"; exit 0; }
echo "hypervisor canary at host-physical $addr"
grep "System RAM" /proc/iomem
inside=no
for range in $(grep "System RAM" /proc/iomem | sed 's/ *\([0-9a-f]*\)-\([0-9a-f]*\) .*/\1-\2/'); do
    lo=$((0x${range%-*})); hi=$((0x${range#*-}))
    if [ $((addr)) -ge $lo ] && [ $((addr)) -le $hi ]; then inside=yes; fi
done
if [ $inside = no ]; then echo "PASS hvmem-not-in-map"; else echo "FAIL hvmem-not-in-map"; fi
out=$(hvprobe readphys "$addr" 32 2>&1)
echo "readphys exit $? output: $out"
case "$out" in
    *POSTERN-HV-CANARY*) echo "FAIL hvmem-unreachable" ;;
    *) echo "PASS hvmem-unreachable" ;;
esac
# The hypervisor's pages are listed, as reserved, in the e820 map the guest got (the firmware's
# memory map as Linux keeps it in /sys/firmware/memmap).
reserved=no
for d in /sys/firmware/memmap/*; do
    if [ "$(cat "$d/type")" = Reserved ] && [ $((addr)) -ge $(($(cat "$d/start"))) ] &&
        [ $((addr)) -le $(($(cat "$d/end"))) ]; then reserved=yes; fi
done
if [ $reserved = yes ]; then echo "PASS hvmem-reserved"; else echo "FAIL hvmem-reserved"; fi
