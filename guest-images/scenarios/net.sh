#!/bin/sh
# The guarded NIC end to end: the christoized driver (e1000, or $DRV from postern.nicdrv=; bound to
# `nic` by the administrator) loads, registers, brings the link up, pings the gateway and moves
# 1 MiB each way over TCP to the harness's helper, the bytes checked end to end.
# shellcheck source=guest-images/scenarios/lib/net.sh
. /tests/lib/net.sh
hv_detect
echo "net: driver $DRV"
insmod "$M/$DRV.ko"; check net-insmod
ifc=$(wait_iface "$DRV" 10); check net-iface "no interface driven by $DRV"
show_dmesg "$DRV [0-9a-f:.]+: " | head -n 5
[ -n "$ifc" ] || exit 0
net_up "$ifc" 10; check net-link "no carrier in 10 s"
net_ping 3; check net-ping
net_restricted; check net-restricted
xfer_up net-up; check net-tcp-up
xfer_down net-down; check net-tcp-down
