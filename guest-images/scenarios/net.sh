#!/bin/sh
# The guarded NIC end to end: the christoized driver (e1000, or $DRV from postern.nicdrv=; bound to
# `nic` by the administrator) loads, registers, brings the link up, pings the gateway and moves
# 1 MiB each way over TCP to the harness's helper, the bytes checked end to end.
#   postern.netmod=absorbed    load $M/absorbed/$DRV.ko: the driver with its leaf functions absorbed
#   postern.rx_exits_max=N     under Postern, the download's VM exits per packet received must be at
#                              most N (each border crossing is a VM exit; issue 8's absorption test)
# shellcheck source=guest-images/scenarios/lib/net.sh
. /tests/lib/net.sh
hv_detect
echo "net: driver $DRV"
sub=$(sed -n 's/.*postern\.netmod=\([a-z]*\).*/\1/p' /proc/cmdline)
rx_max=$(sed -n 's/.*postern\.rx_exits_max=\([0-9]*\).*/\1/p' /proc/cmdline)
insmod "$M/${sub:+$sub/}$DRV.ko"; check net-insmod
ifc=$(wait_iface "$DRV" 10); check net-iface "no interface driven by $DRV"
show_dmesg "$DRV [0-9a-f:.]+: " | head -n 5
[ -n "$ifc" ] || exit 0
net_up "$ifc" 10; check net-link "no carrier in 10 s"
net_gro "$ifc"; check net-gro "hvprobe gro failed"
net_ping 3; check net-ping
net_restricted; check net-restricted
xfer_up net-up; check net-tcp-up
allexits() { hvprobe exits | awk '{ print $6 }'; }
[ "$HV" = yes ] && e0=$(allexits)
rx0=$(cat /sys/class/net/"$ifc"/statistics/rx_packets)
xfer_down net-down; check net-tcp-down
rx1=$(cat /sys/class/net/"$ifc"/statistics/rx_packets)
if [ "$HV" = yes ]; then
    e1=$(allexits)
    hvprobe mark 90 # the hypervisor logs every site's crossings so far (the absorbed case reads them)
    per=$(awk -v e=$((e1 - e0)) -v p=$((rx1 - rx0)) 'BEGIN { printf "%.2f", p ? e / p : 1e9 }')
    echo "net: download: $((rx1 - rx0)) packets received, $((e1 - e0)) VM exits: $per per packet"
    if [ -n "$rx_max" ]; then
        awk -v a="$per" -v b="$rx_max" 'BEGIN { exit !(a <= b) }'; check net-rx-exits "$per VM exits per packet received, more than $rx_max"
    fi
fi
