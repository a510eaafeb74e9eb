#!/bin/sh
# make bench (tests/bench/nic.sh): one TCP transfer each way through the NIC, timed, with the
# packet counts and, under Postern, HC_STATS_MARK marks around each phase so the bench can count
# border crossings per packet. postern.netbench=guarded loads the christoized e1000 (bound to
# `nic`), =absorbed the same with its leaf functions absorbed (christoize build --absorb),
# =stock Debian's own driver (the NIC passed through, or no hypervisor at all).
. /tests/lib/net.sh
mode=stock
for arg in $(cat /proc/cmdline); do
    case "$arg" in postern.netbench=*) mode=${arg#postern.netbench=} ;; esac
done
XFER_BYTES=${NETBENCH_BYTES:-2097152}
hv_detect
case "$mode" in
    guarded) insmod $M/e1000.ko ;;
    absorbed) insmod $M/absorbed/e1000.ko ;;
    *) insmod $M/stock/e1000.ko ;;
esac
check netbench-insmod
ifc=$(wait_iface e1000 20) && net_up "$ifc" 20
check netbench-up
net_gro "$ifc"; check netbench-gro
net_ping 2 > /dev/null
stat() { cat /sys/class/net/"$ifc"/statistics/"$1"; }
mark() { [ "$HV" = yes ] && hvprobe mark "$1"; }
allexits() { if [ "$HV" = yes ]; then hvprobe exits | awk '{ print $6 }'; else echo 0; fi; }
# Each phase: mark, counters, transfer, counters, mark; the bench divides crossing differences
# by the packet differences printed here.
phase() {
    tx0=$(stat tx_packets); rx0=$(stat rx_packets); e0=$(allexits); mark "$2"
    t0=$(now); "$1" "netbench-$3" 300; ok=$?; t1=$(now)
    mark "$(($2 + 1))"; e1=$(allexits); tx1=$(stat tx_packets); rx1=$(stat rx_packets)
    echo "NETBENCH $3 mode $mode bytes $XFER_BYTES seconds $(elapsed "$t0" "$t1") tx_packets $((tx1 - tx0)) rx_packets $((rx1 - rx0)) vmexits $((e1 - e0)) marks $2 $(($2 + 1)) ok $ok"
}
phase xfer_up 10 up
phase xfer_down 20 down
# Power off so the hypervisor prints its counters (the bench waits for that).
echo "NETBENCH end"
poweroff -f
