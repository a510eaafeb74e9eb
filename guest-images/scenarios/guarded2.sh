#!/bin/sh
# guarded-two-devices: two guarded NICs under two privileges (docs/pci.md, "More than one guarded
# device"): QEMU's e1000 (8086:100e) under `nic`, whose privileged view it owns, and its e1000e
# (8086:10d3) under `nic2`, every memory BAR trapped. Each christoized driver holds its own
# privilege: the e1000 carries TCP to the harness's helper, the e1000e pings its own gateway
# (10.0.3.2; its MSI-X table, programmed by the guest kernel, is forwarded for everyone). gpoke, an
# ordinary module, reads zeros from both and its writes land on neither.
# shellcheck source=guest-images/scenarios/lib/net.sh
. /tests/lib/net.sh
hv_detect
insmod $M/e1000.ko; check two-e1000-insmod
insmod $M/e1000e.ko; check two-e1000e-insmod
a=$(wait_iface e1000 10) && b=$(wait_iface e1000e 10); check two-ifaces "e1000 '$a' e1000e '$b'"
[ -n "$a" ] && [ -n "$b" ] || exit 0
net_up "$a" 10; check two-e1000-link
net_ping 2; check two-e1000-ping
xfer_up two-up; check two-e1000-tcp-up
ip addr add 10.0.3.15/24 dev "$b" && ip link set "$b" up; check two-e1000e-up
i=0; while [ "$(cat "/sys/class/net/$b/carrier")" != 1 ] && [ $i -lt 100 ]; do usleep 100000; i=$((i + 1)); done
ping -c 2 -W 2 -I "$b" 10.0.3.2 | sed 's/^/two: /'
ping -c 2 -W 2 -I "$b" 10.0.3.2 > /dev/null; check two-e1000e-ping
for dev in 100e 10d3; do
    dmesg -c > /dev/null
    insmod $M/gpoke.ko device=0x$dev restore=0 && rmmod gpoke; check "two-poke-$dev"
    show_dmesg "gpoke: "
    summary=$(dmesg | grep "gpoke: summary")
    case "$summary" in *"mmio_nonzero=0 io_nonzero=0 mmio_write_landed=0 io_write_landed=0"*) true ;; *) false ;; esac
    check "two-poke-$dev-zeros" "$summary"
done
net_ping 2; check two-after-e1000-ping
xfer_down two-down; check two-after-e1000-tcp-down
ping -c 2 -W 2 -I "$b" 10.0.3.2 > /dev/null; check two-after-e1000e-ping
