#!/bin/sh
# The untrusted kernel changes HWCR (flips INVDWBINVD, bit 4, which decides whether INVD writes
# dirty lines back) and then runs INVD (gcpu.ko, through hvprobe). The hypervisor keeps HWCR's
# machine-wide bits, does the INVD as WBINVD, and the guest goes on (docs/events.md).
hvprobe hwcr ^0x10 || echo "FAIL invd (hvprobe hwcr)"
hvprobe invd || echo "FAIL invd (hvprobe invd)"
dmesg | grep "gcpu: [hi]" # the module's lines (KERN_INFO: not on the console)
dmesg | grep -q "gcpu: invd done, store kept" && echo "PASS invd-store-kept" || echo "FAIL invd (store lost)"
echo "INVD-GUEST-ALIVE $(cat /proc/uptime)"
