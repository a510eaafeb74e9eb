#!/bin/sh
# subpage-bar: two RTL8139s, whose 256-byte MMIO BAR1 is smaller than a page. The first is the
# guarded NIC (guarded_nic = 10ec:8139), the second is passed through. OVMF gives each BAR its own
# page, so gpeek share=1 first moves the second chip's BAR onto the guarded one's page (as firmware
# that packs small BARs would). Debian's 8139cp (QEMU's rtl8139 is an RTL8139C+, which 8139too
# refuses), christoized for `nic`, then drives both chips through BAR1: the guarded one carries TCP to the harness's
# helper, the other pings its own gateway (10.0.3.2). An ordinary module (gpeek) reading both BARs
# sees zeros for the guarded chip and the other chip's real MAC; its software reset written to the
# guarded chip is dropped and the traffic goes on. Without a hypervisor (DIRECT=1, the control)
# gpeek sees the guarded chip's MAC too.
# shellcheck source=guest-images/scenarios/lib/net.sh
. /tests/lib/net.sh
hv_detect
chips=$(for d in /sys/bus/pci/devices/*; do
    [ "$(cat "$d/vendor")" = 0x10ec ] && [ "$(cat "$d/device")" = 0x8139 ] && echo "${d##*/}"
done)
guarded=$(echo "$chips" | sed -n 1p) other=$(echo "$chips" | sed -n 2p)
[ -n "$other" ]; check subpage-two-chips "found: $chips"
insmod $M/gpeek.ko share=1 && rmmod gpeek; check subpage-share
show_dmesg "gpeek: "
bar1() { sed -n 2p "/sys/bus/pci/devices/$1/resource" | cut -d' ' -f1; }
echo "subpage: $guarded BAR1 $(bar1 "$guarded"), $other BAR1 $(bar1 "$other")"
[ $(($(bar1 "$guarded") >> 12)) = $(($(bar1 "$other") >> 12)) ]; check subpage-same-page
insmod $M/stock/mii.ko && insmod $M/8139cp.ko; check subpage-insmod
gifc=$(ls "/sys/bus/pci/devices/$guarded/net" 2>/dev/null) oifc=$(ls "/sys/bus/pci/devices/$other/net" 2>/dev/null)
[ -n "$gifc" ] && [ -n "$oifc" ]; check subpage-probed "interfaces: '$gifc' '$oifc'"
show_dmesg "8139cp [0-9a-f:.]+: " | head -n 6
[ -n "$gifc" ] && [ -n "$oifc" ] || exit 0
gmac=$(cat "/sys/class/net/$gifc/address") omac=$(cat "/sys/class/net/$oifc/address")
echo "subpage: guarded $gifc mac $gmac, other $oifc mac $omac"
net_up "$gifc" 10; check subpage-guarded-link
net_ping 2; check subpage-guarded-ping
xfer_up subpage-up; check subpage-guarded-tcp-up
ip addr add 10.0.3.15/24 dev "$oifc" && ip link set "$oifc" up; check subpage-other-up
i=0; while [ "$(cat "/sys/class/net/$oifc/carrier")" != 1 ] && [ $i -lt 100 ]; do usleep 100000; i=$((i + 1)); done
ping -c 2 -W 2 -I "$oifc" 10.0.3.2 | sed 's/^/subpage: /'
ping -c 2 -W 2 -I "$oifc" 10.0.3.2 > /dev/null; check subpage-other-ping
insmod $M/gpeek.ko reset="$guarded" && rmmod gpeek; check subpage-peek
show_dmesg "gpeek: "
peek() { dmesg | grep "gpeek: $1 driver" | tail -n 1 | sed 's/.* mac \([0-9a-f:]*\) .*/\1/'; }
if [ $HV = yes ]; then
    [ "$(peek "$guarded")" = 00:00:00:00:00:00 ]; check subpage-outsider-zeros "gpeek saw $(peek "$guarded")"
else
    [ "$(peek "$guarded")" = "$gmac" ]; check control-outsider-sees-device "gpeek saw $(peek "$guarded")"
fi
[ "$(peek "$other")" = "$omac" ]; check subpage-outsider-sees-other "gpeek saw $(peek "$other")"
if [ $HV = yes ]; then
    net_ping 2; check subpage-after-ping
    xfer_down subpage-down; check subpage-guarded-tcp-down
    ping -c 2 -W 2 -I "$oifc" 10.0.3.2 > /dev/null; check subpage-after-other-ping
    [ "$(cat "/sys/class/net/$gifc/address")" = "$gmac" ]; check subpage-mac-unchanged
fi
