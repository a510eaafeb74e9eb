#!/bin/sh
# NMIs while the guarded e1000 moves traffic (tests/integration/cases/nmi-storm.case): the harness
# sends QEMU's monitor `nmi` 1,000 times while transfers run through the christoized driver (a
# border crossing for every packet), then a line on the console; the guest's NMI count in
# /proc/interrupts must have risen by exactly 1,000 (postern.nmis=N for another count), whether
# each NMI came in guest or in host mode (docs/events.md).
# shellcheck source=guest-images/scenarios/lib/net.sh
. /tests/lib/net.sh
hv_detect
want=$(sed -n 's/.*postern\.nmis=\([0-9]*\).*/\1/p' /proc/cmdline)
want=${want:-1000}
nmis() { awk '$1 == "NMI:" { print $2 }' /proc/interrupts; }
insmod "$M/$DRV.ko"; check nmi-insmod
ifc=$(wait_iface "$DRV" 10); check nmi-iface "no interface driven by $DRV"
[ -n "$ifc" ] || exit 0
net_up "$ifc" 10; check nmi-link "no carrier in 10 s"
rm -f /tmp/nmi-stop
# Traffic until the harness is done: transfers each way, checked end to end (the last of each is
# compared with the helper's record).
(
    ok=0
    while [ ! -e /tmp/nmi-stop ]; do
        xfer_up nmi-up && xfer_down nmi-down && ok=$((ok + 1))
    done
    echo "nmi: $ok round trips of traffic during the NMIs"
    [ "$ok" -gt 0 ]
) &
traffic=$!
n0=$(nmis)
echo "NMI-STORM-READY nmis $n0"
read -r _ # the harness's line after its last NMI
n1=$(nmis)
touch /tmp/nmi-stop
wait "$traffic"; check nmi-traffic "no transfer completed during the NMIs"
echo "nmi: NMI count before $n0 after $n1: $((n1 - n0)) (want $want)"
[ $((n1 - n0)) -eq "$want" ]; check nmi-count "$((n1 - n0)) NMIs counted, not $want"
ping -c 1 -W 5 $GATEWAY >/dev/null; check nmi-alive
