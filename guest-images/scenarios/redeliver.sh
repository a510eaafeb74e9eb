#!/bin/sh
# An interrupted delivery (docs/events.md): gcpu.ko has its stack page taken out of the nested map
# (HC_TEST_UNMAP_ONCE) and waits for the next timer tick; the tick's delivery takes a nested fault,
# and the tick arrives only if the hypervisor delivers it again. Then the timer must keep ticking
# (a lost, acknowledged interrupt would leave its in-service bit set and the tick dead).
insmod /lib/modules/postern/gcpu.ko 2>/dev/null
for _ in 1 2 3; do echo 1 > /sys/module/gcpu/parameters/redeliver; done
dmesg | grep "gcpu: redeliver"
n=$(dmesg | grep -c "gcpu: redeliver: hypercall 0, .*(the tick arrived)")
[ "$n" = 3 ] && echo "PASS redeliver-tick" || echo "FAIL redeliver (ticks arrived: $n of 3)"
a=$(cut -d' ' -f1 /proc/uptime); sleep 1; b=$(cut -d' ' -f1 /proc/uptime)
echo "REDELIVER-TIMER $a $b"
[ "$a" != "$b" ] && echo "PASS redeliver-timer-alive" || echo "FAIL redeliver (timer stopped)"
