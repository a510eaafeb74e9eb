#!/bin/sh
# The guest kernel sends INIT and SIPI to the machine's other core (-smp 2; the guest sees one CPU)
# and to all but itself, through the xAPIC ICR (the APIC page) and the x2APIC ICR (MSR 830h), then
# ordinary IPIs to itself, then INIT to itself (gcpu.ko through hvprobe ipi): Postern refuses and
# logs every INIT/SIPI to another core, lets the other IPIs through, and turns the INIT to itself
# into a guest reset request (docs/events.md, "INIT and SIPI"; tests/integration/cases/init-refused.case).
# ICR values: vector | mode << 8 | level-assert (bit 14) | shorthand << 18 | destination (xAPIC:
# bits 63:56, x2APIC: bits 63:32).
irq() { awk -v k="$1:" '$1 == k { print $2 }' /proc/interrupts; }
online0=$(cat /sys/devices/system/cpu/online)
hvprobe ipi xapic 0100000000004500   # INIT to APIC 1
hvprobe ipi xapic 0100000000004600   # SIPI (vector 0) to APIC 1
hvprobe ipi xapic 01000000000046a0   # SIPI (vector a0) to APIC 1
hvprobe ipi xapic 00000000000c4500   # INIT to all but self
hvprobe ipi xapic 00000000000c4600   # SIPI to all but self
hvprobe ipi x2apic 0000000100004500  # INIT to x2APIC 1
hvprobe ipi x2apic 0000000100004600  # SIPI to x2APIC 1
sleep 1
online1=$(cat /sys/devices/system/cpu/online)
echo "init: online CPUs before $online0 after $online1"
[ "$online0" = "$online1" ] && echo "PASS init-ap-parked" || echo "FAIL init-ap-parked"
# Non-INIT/SIPI IPIs still pass: an NMI to self (NMI count) and a fixed IPI to self (the
# reschedule vector fd: RES count).
n0=$(irq NMI) r0=$(irq RES)
hvprobe ipi xapic 0000000000040400   # NMI to self
hvprobe ipi xapic 00000000000440fd   # fixed vector fd to self
sleep 1
n1=$(irq NMI) r1=$(irq RES)
echo "init: NMI count $n0 -> $n1, RES count $r0 -> $r1"
[ "$n1" -gt "$n0" ] && echo "PASS init-nmi-self" || echo "FAIL init-nmi-self"
[ "$r1" -gt "$r0" ] && echo "PASS init-fixed-self" || echo "FAIL init-fixed-self"
dmesg | grep "gcpu: ipi"
echo "INIT-SELF-NEXT"
sleep 0.5
hvprobe ipi xapic 0000000000044500   # INIT to self: a reset request
echo "FAIL init-self (the guest still runs)"
