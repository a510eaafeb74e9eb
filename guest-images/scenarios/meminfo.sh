#!/bin/sh
# How much RAM the guest got (the guest-ram-cap case compares it with the cap).
sed -n 's/^MemTotal: *\([0-9]*\) kB/MemTotal \1 kB/p' /proc/meminfo
grep "System RAM" /proc/iomem
