#!/bin/sh
# The guest keeps its core busy in user space while the test injects a machine check (QEMU's
# monitor `mce`, tests/integration/cases/mce-guest.case): the #MC arrives in guest mode and in
# user context, so the guest's kernel logs it and goes on (docs/events.md).
echo "MCE-BUSY-START"
end=$(( $(cut -d. -f1 /proc/uptime) + ${1:-25} ))
while [ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ]; do
    i=0
    while [ $i -lt 3000 ]; do i=$((i + 1)); done
done
echo "MCE-BUSY-END"
dmesg | grep -iE "machine check|hardware error" | sed 's/^/MCE-DMESG /'
