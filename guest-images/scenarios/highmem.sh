#!/bin/sh
# Identity-mapped guest memory (docs/guest-boot.md): on a machine with RAM above 4 GiB the guest
# gets it, and a page up there holds what the guest writes.
total=$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo)
echo "MemTotal ${total} kB"
grep "System RAM" /proc/iomem
if [ "$total" -gt $((4 * 1024 * 1024)) ]; then echo "PASS highmem-memtotal"; else echo "FAIL highmem-memtotal"; fi
if hvprobe highmem; then echo "PASS highmem-rw"; else echo "FAIL highmem-rw"; fi
