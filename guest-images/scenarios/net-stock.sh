#!/bin/sh
# Debian's stock e1000.ko (or $DRV.ko, postern.nicdrv=), not christoized, holds no privilege:
# under Postern it must not be able to drive the guarded NIC (its registers read as zeros, its
# writes are dropped), so it either fails to probe or gets no traffic through. Without a
# hypervisor it works (the control).
# shellcheck source=guest-images/scenarios/lib/net.sh
. /tests/lib/net.sh
hv_detect
insmod "$M/stock/$DRV.ko"; check stock-insmod
ifc=$(wait_iface "$DRV" 5)
show_dmesg "$DRV [0-9a-f:.]+|$DRV: (Current EEPROM Checksum|probe of)" | head -n 8
link=no ping=no tcp=no
if [ -n "$ifc" ] && net_up "$ifc" 5; then
    link=yes
    net_ping 2 && ping=yes
    # the transfer only when ping worked: without a link it would just wait for its timeout
    if [ $ping = yes ] && xfer_up stock-up 60 && xfer_down stock-down 60; then tcp=yes; fi
fi
echo "stock-$DRV: interface ${ifc:-none}, link $link, ping $ping, tcp $tcp"
if [ $HV = yes ]; then
    [ $link = no ] && [ $ping = no ] && [ $tcp = no ]; check stock-cannot-drive-nic
else
    [ $link = yes ] && [ $ping = yes ] && [ $tcp = yes ]; check control-stock-drives-nic
fi
