#!/bin/sh
# The real e1000 driver, christoized, loads and registers with the hypervisor (no NIC is attached
# in this test: the network comes with the IOMMU, issue 4).
m=/lib/modules/postern
if insmod $m/e1000.ko; then echo "PASS e1000-insmod"; else echo "FAIL e1000-insmod"; fi
if [ -d /sys/module/e1000 ]; then echo "PASS e1000-loaded"; else echo "FAIL e1000-loaded"; fi
rmmod e1000 && echo "PASS e1000-rmmod" || echo "FAIL e1000-rmmod"
