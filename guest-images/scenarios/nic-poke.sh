#!/bin/sh
# An ordinary module (gpoke) pokes the guarded NIC's registers while the christoized e1000 is
# loaded and working. Under Postern it must read zeros and change nothing: the guarded driver
# goes on working with the same MAC. Without a hypervisor (the control) the poke reaches the
# device: it reads the real registers and its write lands (then it restores what it changed).
# shellcheck source=guest-images/scenarios/lib/net.sh
. /tests/lib/net.sh
hv_detect
insmod $M/e1000.ko; check poke-e1000-insmod
ifc=$(wait_iface e1000 10) && net_up "$ifc" 10; check poke-e1000-up
[ -n "$ifc" ] || exit 0
net_ping 2; check poke-before-ping
xfer_up poke-before-up; check poke-before-tcp
mac=$(cat /sys/class/net/"$ifc"/address)
restore=1; [ $HV = yes ] && restore=0 # under Postern a write that got through must stay visible
insmod $M/gpoke.ko restore=$restore; check poke-insmod
rmmod gpoke
show_dmesg "gpoke: "
summary=$(dmesg | grep "gpoke: summary")
if [ $HV = yes ]; then
    case "$summary" in *"mmio_nonzero=0 io_nonzero=0 "*) true ;; *) false ;; esac; check poke-sees-zeros
    case "$summary" in *"mmio_write_landed=0 io_write_landed=0"*) true ;; *) false ;; esac; check poke-write-dropped
else
    case "$summary" in *"mmio_nonzero=0 "*) false ;; *) true ;; esac; check control-poke-sees-device
    case "$summary" in *"mmio_write_landed=1 "*) true ;; *) false ;; esac; check control-poke-write-lands
fi
net_ping 2; check poke-after-ping
xfer_up poke-after-up; check poke-after-tcp-up
xfer_down poke-after-down; check poke-after-tcp-down
[ "$(cat /sys/class/net/"$ifc"/address)" = "$mac" ]; check poke-mac-unchanged "was $mac"
if [ $HV = no ]; then
    # The control for the checks above: a poke left in place (RAL0 changed) makes the device
    # drop the frames sent to the guest's MAC, so the same ping fails.
    insmod $M/gpoke.ko restore=0 && rmmod gpoke
    ! net_ping 2; check control-unrestored-poke-breaks-rx
fi
