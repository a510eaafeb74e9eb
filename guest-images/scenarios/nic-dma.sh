#!/bin/sh
# A guarded module holding `nic` (gdma) aims the e1000's DMA where it must not reach: just above
# the top of guest RAM, just below 0xF0000000 and at 32 GiB (the IOMMU must block each, and under
# Postern the hypervisor logs "iommu: blocked DMA ..."), and, under Postern, the host-physical
# address of a hypervisor page (the device must never read it). The same run shows the DMA that
# stays in guest RAM working. Without a hypervisor the guest kernel drives the IOMMU: then a page
# of guest RAM never mapped for DMA must stay out of the device's reach too (the control).
# No e1000 driver is loaded; gdma resets the device when it is done.
# shellcheck source=guest-images/scenarios/lib/net.sh
. /tests/lib/net.sh
hv_detect
# Where guest RAM ends: the end of the last top-level /proc/iomem range below the first PCI window
# above 1 MiB (System RAM, then ACPI data or firmware-reserved RAM: under Postern the guest's ACPI
# tables sit in the last MiB of guest RAM, and the IOMMU maps them like the rest).
grep -v '^ ' /proc/iomem | sed 's/^/nic-dma: iomem /' | head -n 16
top=$(grep -v '^ ' /proc/iomem | awk -F' : ' '{ split($1, r, "-") }
        $2 ~ /^PCI Bus/ && length(r[1]) == 8 && r[1] >= "00100000" { exit } { end = r[2] } END { print end }')
top=$(printf '0x%x' $((0x$top + 1)))
addrs="$top 0xeffff000 0x800000000"
echo "nic-dma: guest RAM ends at $top; aiming at $addrs"
for a in $addrs; do
    what=
    while IFS= read -r line; do
        range=$(echo ${line%% : *}); lo=${range%-*}; hi=${range#*-}
        [ $((a)) -ge $((0x$lo)) ] && [ $((a)) -le $((0x$hi)) ] && what="${what}[${line#* : }]"
    done < /proc/iomem
    echo "nic-dma: $a in /proc/iomem: ${what:-nothing}"
done
canary=0
[ $HV = yes ] && canary=$(hvprobe canary) && echo "nic-dma: the hypervisor's canary page is at host-physical $canary"
insmod $M/gdma.ko addrs="$(echo $addrs | tr ' ' ,)" canary="$canary"; check dma-insmod
show_dmesg "gdma: "
n=$(dmesg | grep -c "gdma: ring at .*the device fetched the descriptor")
[ "$n" = 3 ]; check dma-ring-fetch-attempted "$n of 3"
n=$(dmesg | grep -c "gdma: buffer at .*(outside RAM): transmit descriptor done; 64 bytes came back")
[ "$n" = 3 ]; check dma-device-works-in-ram "$n of 3 descriptors done with their frame back"
line=$(dmesg | grep "gdma: buffer at .*(guest RAM mapped for DMA)")
case "$line" in *"the device read GDMA-MAPPED"*) true ;; *) false ;; esac; check dma-loopback-reads-mapped-ram
line=$(dmesg | grep "gdma: buffer at .*(guest RAM never mapped for DMA)")
if [ $HV = yes ]; then
    # Postern's IOMMU maps all of guest RAM for the device; the guest drives no IOMMU of its own.
    case "$line" in *"the device read GDMA-SECRET"*) true ;; *) false ;; esac; check dma-guest-ram-reachable
    line=$(dmesg | grep "gdma: buffer at .*(the hypervisor's canary page)")
    case "$line" in *"bytes came back"*"no POSTERN-HV-CANARY"*) true ;; *) false ;; esac
    check dma-hv-canary-unreachable
else
    case "$line" in *"bytes came back"*"no GDMA-SECRET"*) true ;; *) false ;; esac
    check control-guest-iommu-hides-unmapped-ram
fi
sleep 2 # the IOMMU's fault report may lag
[ $HV = yes ] || show_dmesg "DMAR: \[DMA|IO_PAGE_FAULT" | head -n 8
rmmod gdma
