# shellcheck shell=sh
# Sourced by the network scenarios (net, net-stock, nic-poke, nic-dma); docs/lab/network-tests.md.
# The harness (tests/integration/run.sh with NIC=...) wires QEMU's user network with restrict=on:
# the guest reaches the gateway 10.0.2.2 and, at 10.0.2.100, two services of the harness's helper
# (tests/integration/netserve.sh), nothing else:
#   10.0.2.100:5001  sink:   send "NAME\n" + data, half-close; the reply is "RECEIVED NAME BYTES SHA256"
#   10.0.2.100:5002  source: send "NAME BYTES\n", half-close; the reply is "SHA256 BYTES\n" + BYTES bytes
# Both ends print "NET-VERIFY NAME up|down bytes N sha256 H"; the harness compares the two.
M=/lib/modules/postern
# The NIC's driver: postern.nicdrv=e1000e on the kernel command line for QEMU's 82574L (NIC=e1000e);
# e1000 by default. $M/DRV.ko is the christoized one, $M/stock/DRV.ko Debian's own.
# shellcheck disable=SC2034
DRV=$(sed -n 's/.*postern\.nicdrv=\([^ ]*\).*/\1/p' /proc/cmdline)
DRV=${DRV:-e1000}
SERVER=10.0.2.100
GATEWAY=10.0.2.2
ADDR=10.0.2.15
SINK_PORT=5001
SOURCE_PORT=5002
XFER_BYTES=1048576

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1${2:+ ($2)}"; }
# check NAME: PASS/FAIL by the exit status of the command that ran just before
check() { if [ "$?" = 0 ]; then pass "$1"; else fail "$1" "$2"; fi; }

# Seconds since boot with centiseconds, for timing.
now() { cut -d' ' -f1 /proc/uptime; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# HV (read by the scenarios) = yes when the version hypercall answers. Without a hypervisor it is an invalid opcode
# (hvprobe dies of SIGILL): the christoized modules then need gnohv to answer their hypercalls.
# shellcheck disable=SC2034
hv_detect() {
    case "$( (hvprobe hypercall 0x50530000) 2>/dev/null)" in
        "rax 0 rbx 0x1") HV=yes; echo "net: hypervisor present" ;;
        *) HV=no; echo "net: no hypervisor: loading gnohv for the christoized modules"
           insmod $M/gnohv.ko || fail gnohv-insmod ;;
    esac
    # Under Postern the IOMMU is the hypervisor's and hidden; without it the guest kernel drives it.
    echo "net: IOMMU units the guest kernel drives: $(ls /sys/class/iommu 2>/dev/null | tr '\n' ' ')"
}

# The interface a driver named $1 (default e1000) drives, empty if none.
nic_iface() {
    for d in /sys/class/net/*; do
        drv=$(readlink "$d/device/driver" 2>/dev/null) || continue
        [ "${drv##*/}" = "${1:-e1000}" ] && { echo "${d##*/}"; return; }
    done
}

# wait_iface DRIVER SECONDS: the interface once it exists (probing is asynchronous to insmod's end)
wait_iface() {
    i=0
    while [ $i -lt $(($2 * 10)) ]; do
        ifc=$(nic_iface "$1")
        [ -n "$ifc" ] && { echo "$ifc"; return 0; }
        usleep 100000; i=$((i + 1))
    done
    return 1
}

# net_up IFACE SECONDS: static address, link up, carrier within SECONDS, default route.
net_up() {
    ip addr add $ADDR/24 dev "$1" && ip link set "$1" up || return 1
    i=0
    while [ "$(cat /sys/class/net/"$1"/carrier 2>/dev/null)" != 1 ]; do
        [ $i -lt $(($2 * 10)) ] || return 1
        usleep 100000; i=$((i + 1))
    done
    echo "net: $1 carrier up after $((i * 100)) ms, mac $(cat /sys/class/net/"$1"/address)"
    ip route add default via $GATEWAY dev "$1"
}

# net_gro IFACE: postern.gro=on|off on the kernel command line switches the interface's GRO
# (hvprobe gro: ethtool -K); the absorbed napi_gro_receive runs inside the border only with GRO off
# (christoize/absorb/napi_gro_receive.c). Without the option nothing changes.
net_gro() {
    gro=$(sed -n 's/.*postern\.gro=\(on\|off\).*/\1/p' /proc/cmdline)
    [ -n "$gro" ] || return 0
    out=$(hvprobe gro "$1" "$gro") || return 1
    echo "net: $out"
}

# net_ping COUNT: ping the gateway; succeeds when every echo is answered.
net_ping() {
    out=$(ping -c "$1" -W 2 $GATEWAY 2>&1)
    echo "$out" | sed 's/^/net: /'
    echo "$out" | grep -q "$1 packets transmitted, $1 packets received"
}

# net_restricted: with restrict=on, slirp refuses (RST) every TCP connection that is not a forward:
# to the gateway (i.e. this machine), to a port of 10.0.2.100 nobody forwards, to the outside.
net_restricted() {
    for t in "$GATEWAY 22" "$SERVER 5003" "192.0.2.1 80"; do
        if echo | timeout 10 nc $t > /dev/null 2>&1; then echo "net: TCP to $t connected"; return 1; fi
        echo "net: TCP to $t refused"
    done
}

# The upload payload: deterministic (the host could regenerate it with coreutils' seq).
gen_up() { [ -s /tmp/up ] || seq 1 200000 | head -c $XFER_BYTES > /tmp/up; }

# xfer_up NAME [TIMEOUT]: send $XFER_BYTES to the sink; succeeds when the helper received them all.
xfer_up() {
    gen_up
    h=$(sha256sum /tmp/up | cut -c1-64)
    n=$(wc -c < /tmp/up)
    echo "NET-VERIFY $1 up bytes $n sha256 $h"
    t0=$(now)
    reply=$( { echo "$1"; cat /tmp/up; } | timeout "${2:-120}" nc $SERVER $SINK_PORT 2>&1)
    t1=$(now)
    echo "net: $1: sent $n bytes in $(elapsed "$t0" "$t1") s, helper says: ${reply:-nothing}"
    [ "$reply" = "RECEIVED $1 $n $h" ]
}

# xfer_down NAME [TIMEOUT]: fetch $XFER_BYTES from the source; succeeds when their SHA-256 is the
# one the helper announced.
xfer_down() {
    rm -f /tmp/down
    t0=$(now)
    echo "$1 $XFER_BYTES" | timeout "${2:-120}" nc $SERVER $SOURCE_PORT > /tmp/down 2>/dev/null
    t1=$(now)
    head=$(head -n 1 /tmp/down)
    h=$(tail -c +$((${#head} + 2)) /tmp/down | sha256sum | cut -c1-64)
    n=$(tail -c +$((${#head} + 2)) /tmp/down | wc -c)
    echo "net: $1: received $n bytes in $(elapsed "$t0" "$t1") s, helper announced: ${head:-nothing}"
    echo "NET-VERIFY $1 down bytes $n sha256 $h"
    [ "$head" = "$h $XFER_BYTES" ] && [ "$n" = $XFER_BYTES ]
}

# dmesg lines of a module ("gpoke: ..."), echoed to the console (loglevel=6 hides KERN_INFO there).
show_dmesg() { dmesg | grep -E "$1" | sed 's/^\[[^]]*\] //'; }
