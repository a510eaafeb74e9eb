#!/usr/bin/env bash
# make bench, NIC part (issue 4; docs/performance.md): the same TCP transfers, one after the other
# in one run, through
#   guarded      Postern, the e1000 guarded (`guarded_nic`), the christoized driver holding `nic`
#   passthrough  Postern, the e1000 passed through unguarded, Debian's stock driver
#   direct       no Postern: QEMU boots the kernel, Debian's stock driver
# (AMD-Vi on under Postern in both modes.) Prints throughput ratios, packets, and for the guarded
# mode the border crossings per packet by function (the paper's Figures 9 and 10), from the
# hypervisor's HC_STATS_MARK counts around each phase.
#   NETBENCH_BYTES (default 2 MiB per direction)   output: build/bench/nic.txt
#   BENCH_REPORT_ONLY=1   print the report from the last run's logs
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
source "$top/tools/qemu.sh"
out=${BENCH_OUT:-$top/build/bench}
mkdir -p "$out"
bytes=${NETBENCH_BYTES:-2097152}
export NIC=e1000
NET_GUESTFWD="5001=cmd:$top/tests/integration/netserve.sh sink $out
5002=cmd:$top/tests/integration/netserve.sh source $out"
export NET_GUESTFWD

base="console=ttyS0,115200 panic=-1 loglevel=6 postern.test=netbench"
run_one() { # MODE LOG: boot, wait for the scenario's end, stop QEMU
    local mode=$1 log=$2 pid
    rm -f "$log"
    case $mode in
        guarded | passthrough)
            export IOMMU=amd
            local drv=guarded; [ "$mode" = passthrough ] && drv=stock
            { grep -v '^cmdline\|^guarded_nic\|^iommu\|^bind' "$top/tools/postern.cfg"
              echo "cmdline = $base postern.netbench=$drv"
              echo "iommu = required"
              echo "bind = gtest test"
              if [ "$mode" = guarded ]; then echo "guarded_nic = 8086:100e nic"; echo "bind = e1000 nic"; fi
            } > "$out/nic-$mode.cfg"
            "$top/tools/mkesp.sh" "$out/nic-$mode.img" "$out/nic-$mode.cfg" > /dev/null
            qemu_postern "$out/nic-$mode.img" "$out/vars.fd" -serial "file:$log" -monitor none >/dev/null 2>&1 &
            ;;
        direct)
            export IOMMU=none
            qemu_direct -append "$base postern.netbench=stock" -serial "file:$log" -monitor none >/dev/null 2>&1 &
            ;;
    esac
    pid=$!
    for _ in $(seq 3000); do
        kill -0 $pid 2>/dev/null || break
        grep -aq "hypervisor alive\|reboot: Power down" "$log" 2>/dev/null && break
        sleep 0.2
    done
    kill $pid 2>/dev/null || true
    wait $pid 2>/dev/null || true
}

field() { # LOG DIRECTION NAME: a field of the NETBENCH line
    tr -d '\r' < "$1" | awk -v d="$2" -v f="$3" '$1 == "NETBENCH" && $2 == d { for (i = 3; i < NF; i++) if ($i == f) print $(i + 1) }'
}

for mode in guarded passthrough direct; do
    echo "bench-nic: $mode ..."
    [ "${BENCH_REPORT_ONLY:-0}" = 1 ] || run_one $mode "$out/nic-$mode.log"
    for d in up down; do
        [ "$(field "$out/nic-$mode.log" $d ok)" = 0 ] || { echo "bench-nic: $mode $d transfer failed (see $out/nic-$mode.log)"; exit 1; }
    done
done

# Crossings between two marks: "entry|exit FUNCTION CALLS" lines (a call through a wrapper is two
# crossings: border-in and border-out), and "total CROSSINGS".
crossings() { # LOG FROM TO
    tr -d '\r' < "$1" | awk -v a="$2" -v b="$3" '
        $1 == "postern:" && $2 == "guard:" && $3 == "mark" && $5 != "begin" && $5 != "end" && $5 != "event" {
            # one site per wrapper half: count calls at the first half (in-call, out-call)
            if ($6 != "in-call" && $6 != "out-call") next
            key = ($6 == "in-call" ? "entry " : "exit ") $7
            if ($4 == a) from[key] += $8
            if ($4 == b) to[key] += $8
        }
        $1 == "postern:" && $2 == "guard:" && $3 == "mark" && $5 == "event" {
            if ($4 == a) efrom += $7
            if ($4 == b) eto += $7
        }
        END {
            for (k in to) if (to[k] - from[k] > 0) print k, to[k] - from[k]
            print "total", eto - efrom
        }' | sort -k3 -n -r
}

g=$out/nic-guarded.log
{
    echo "Postern guarded NIC benchmark ($(date -u +%F), QEMU TCG, -cpu $QEMU_CPU, e1000, $bytes bytes per direction over TCP)"
    printf '%-12s %12s %12s %12s %12s\n' mode "up s" "down s" "up/guarded" "down/guarded"
    gu=$(field "$g" up seconds); gd=$(field "$g" down seconds)
    for mode in guarded passthrough direct; do
        u=$(field "$out/nic-$mode.log" up seconds); d=$(field "$out/nic-$mode.log" down seconds)
        printf '%-12s %12s %12s %11.2fx %11.2fx\n' $mode "$u" "$d" "$(echo "$u / $gu" | bc -l)" "$(echo "$d / $gd" | bc -l)"
    done
    echo "(throughput ratio guarded/X = time(X)/time(guarded); above 1.00x: X is slower)"
    echo
    for d in up down; do
        tx=$(field "$g" $d tx_packets); rx=$(field "$g" $d rx_packets)
        from=$(field "$g" $d marks | head -1)
        to=$(tr -d '\r' < "$g" | awk -v d=$d '$1 == "NETBENCH" && $2 == d { for (i = 3; i < NF; i++) if ($i == "marks") print $(i + 2) }')
        if [ $d = up ]; then pk=$tx; what="per packet sent (TCP upload: $tx sent, $rx ACKs received)"
        else pk=$rx; what="per packet received (TCP download: $rx received, $tx ACKs sent)"; fi
        echo "Border crossings $what, by function (a call through a wrapper is 2 crossings; interrupts while privileged are 2 more):"
        printf '  %-6s %-34s %8s %10s\n' wrapper function calls "crossings/packet"
        crossings "$g" "$from" "$to" | awk -v p="$pk" '$1 == "total" { t = $2; next } { printf "  %-6s %-34s %8d %10.2f\n", $1, $2, $3, 2 * $3 / p } END { printf "  %-41s %8s %10.2f\n", "all crossings", "", t / p }'
    done
    echo
    echo "Privilege change (measured by the hypervisor at boot, TSC under TCG):"
    tr -d '\r' < "$g" | sed -n 's/^postern: bench: privilege change: /  /p'
    echo "Guarded device counters at the end of the guarded run:"
    tr -d '\r' < "$g" | sed -n 's/^postern: pci: guarded device /  /p'
} | tee "$out/nic.txt"
