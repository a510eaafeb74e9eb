#!/bin/sh
# The guarded NIC under Bochs (tests/bochs/run.sh nic): Bochs's e1000 on its internal 'vnet'
# network, where one virtual host, 192.168.10.1, answers ARP and ping and nothing leaves the
# emulator. The christoized e1000 (bound to `nic`) loads, registers and brings the link up (its
# registers answer only inside its border), its interrupt arrives through the MP table's PCI entry,
# and it pings that host. Bochs has no IOMMU (iommu = off), so the NIC's DMA uses the addresses the
# driver gives it untranslated: guest memory is identity-mapped (docs/guest-boot.md), so those are
# the right host addresses and the frames go through (docs/vmx.md).
# Then power off, so the hypervisor prints its counters.
# shellcheck shell=sh source=guest-images/scenarios/lib/net.sh
. /tests/lib/net.sh
ADDR=192.168.10.15
GATEWAY=192.168.10.1
hv_detect
insmod "$M/$DRV.ko"; check vnet-insmod
ifc=$(wait_iface "$DRV" 30); check vnet-iface "no interface driven by $DRV"
if [ -n "$ifc" ]; then
    net_up "$ifc" 30; check vnet-link "no carrier in 30 s"
    net_ping 3; check vnet-ping "no reply from $GATEWAY"
    grep -E "eth|e1000" /proc/interrupts | sed 's/^/vnet: /'
fi
echo "VNET-DONE"
poweroff -f
