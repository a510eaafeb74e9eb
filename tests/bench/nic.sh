#!/usr/bin/env bash
# make bench, NIC part (issue 4; docs/lab/performance.md): the same TCP transfers, one after the other
# in one run, through
#   guarded      Postern, the e1000 guarded (`guarded_nic`), the christoized driver holding `nic`
#   absorbed     the same, the driver built with its leaf functions absorbed (guest-images/e1000.absorb)
#   wrappers     guarded, with `border = wrappers`: the paper's border (hypercalls alone) against the
#                nested-paging border every other Postern mode runs (VM exits per packet, issue 7)
#   passthrough  Postern, the e1000 passed through unguarded, Debian's stock driver
#   direct       no Postern: QEMU boots the kernel, Debian's stock driver
# (AMD-Vi on under Postern in these three.) Prints throughput against passthrough, and for the
# guarded modes, side by side (before and after absorption), the border crossings per packet by
# function (the paper's Figures 9 and 10), from the hypervisor's HC_STATS_MARK counts around each
# phase, and the VM exits per crossing.
#   NETBENCH_BYTES (default 2 MiB per direction)   output: build/bench/nic.txt
#   NIC_RUNS (default 3)  rounds of all five boots (throughput: medians over the rounds)
#   BENCH_REPORT_ONLY=1   print the report from the last run's logs
# shellcheck source-path=SCRIPTDIR/../..
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tools/qemu.sh
source "$top/tools/qemu.sh"
# shellcheck source=tests/lib/boot.sh
source "$top/tests/lib/boot.sh"
# shellcheck source=tests/lib/stats.sh
source "$top/tests/lib/stats.sh"
out=${BENCH_OUT:-$top/build/bench}
mkdir -p "$out"
bytes=${NETBENCH_BYTES:-2097152}
export NIC=e1000
NET_GUESTFWD="5001=cmd:$top/tests/integration/netserve.sh sink $out
5002=cmd:$top/tests/integration/netserve.sh source $out"
export NET_GUESTFWD

base="console=ttyS0,115200 panic=-1 loglevel=6 postern.test=netbench postern.gro=off"
run_one() { # MODE LOG: boot, wait for the scenario's end, stop QEMU
    local mode=$1 log=$2 pid
    rm -f "$log"
    case $mode in
        guarded | wrappers | absorbed | passthrough)
            export IOMMU=amd
            local drv=$mode extra=(); [ "$mode" = passthrough ] && drv=stock; [ "$mode" = wrappers ] && drv=guarded
            # the absorbed build's metadata replaces e1000.gmeta on the ESP
            [ "$mode" = absorbed ] && extra=("$top/build/guest/modules/absorbed/e1000.gmeta")
            { grep -v '^cmdline\|^guarded_nic\|^iommu\|^bind\|^border' "$top/tools/postern.cfg"
              echo "cmdline = $base postern.netbench=$drv"
              echo "iommu = required"
              echo "bind = gtest test"
              [ "$mode" = wrappers ] && echo "border = wrappers"
              if [ "$mode" != passthrough ]; then echo "guarded_nic = 8086:100e nic"; echo "bind = e1000 nic"; fi
            } > "$out/nic-$mode.cfg"
            "$top/tools/mkesp.sh" "$out/nic-$mode.img" "$out/nic-$mode.cfg" "${extra[@]}" > /dev/null
            qemu_postern "$out/nic-$mode.img" "$out/vars.fd" -serial "file:$log" -monitor none >/dev/null 2>&1 &
            ;;
        direct)
            export IOMMU=none
            qemu_direct -append "$base postern.netbench=stock" -serial "file:$log" -monitor none >/dev/null 2>&1 &
            ;;
    esac
    pid=$!
    boot_expect "$log" $pid "hypervisor alive|reboot: Power down" 600
    boot_stop $pid
}

field() { # LOG DIRECTION NAME: a field of the NETBENCH line
    tr -d '\r' < "$1" | awk -v d="$2" -v f="$3" '$1 == "NETBENCH" && $2 == d { for (i = 3; i < NF; i++) if ($i == f) print $(i + 1) }'
}

modes="guarded wrappers absorbed passthrough direct"
# NIC_RUNS rounds, each booting every mode once in turn: the crossing counts come from round 1
# (nic-MODE.log), the throughput ratios are the median over the rounds of each round's own ratio
# (modes booted minutes apart on a shared host see different loads; a round's boots are adjacent).
runs=${NIC_RUNS:-3}
runlog() { if [ "$2" = 1 ]; then echo "$out/nic-$1.log"; else echo "$out/nic-$1-$2.log"; fi; } # MODE ROUND
for r in $(seq "$runs"); do
    for mode in $modes; do
        log=$(runlog "$mode" "$r")
        echo "bench-nic: round $r/$runs: $mode ..."
        [ "${BENCH_REPORT_ONLY:-0}" = 1 ] || run_one "$mode" "$log"
        for d in up down; do
            [ "$(field "$log" $d ok)" = 0 ] || { echo "bench-nic: $mode $d transfer failed (see $log)"; exit 1; }
        done
    done
done
# median over the rounds of time(passthrough) / time(MODE), in percent
median_pct() { # MODE DIRECTION
    local r
    for r in $(seq "$runs"); do
        echo "$(field "$(runlog passthrough "$r")" "$2" seconds) $(field "$(runlog "$1" "$r")" "$2" seconds)"
    done | awk '{ print 100 * $1 / $2 }' | median
}
median_s() { # MODE DIRECTION: median seconds
    local r
    for r in $(seq "$runs"); do field "$(runlog "$1" "$r")" "$2" seconds; done | median | xargs printf '%.2f'
}

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

# the two marks around one phase (up or down) of a run, as its NETBENCH line names them
phase_marks() { # LOG DIRECTION
    tr -d '\r' < "$1" | awk -v d="$2" '$1 == "NETBENCH" && $2 == d { for (i = 3; i < NF; i++) if ($i == "marks") print $(i + 1), $(i + 2) }'
}

# crossings() over one phase of a run
phase_crossings() { # LOG DIRECTION
    local marks
    marks=$(phase_marks "$1" "$2")
    crossings "$1" "${marks% *}" "${marks#* }"
}

# the driver's calls to its own entries in one phase (the "intra" count on the marks' exits line)
phase_intra() { # LOG DIRECTION
    local marks
    marks=$(phase_marks "$1" "$2")
    tr -d '\r' < "$1" | awk -v a="${marks% *}" -v b="${marks#* }" '
        $2 == "guard:" && $3 == "mark" && $5 == "exits" && $9 == "intra" { if ($4 == a) x = $10; if ($4 == b) y = $10 }
        END { print y - x }'
}

# side by side: "wrapper function calls-before calls-after" for one phase of the two guarded runs
side_by_side() { # DIRECTION
    local d=$1 m
    for m in guarded absorbed; do
        phase_crossings "$out/nic-$m.log" "$d" | sed "s/^/$m /"
    done | awk '{ k = $2 " " $3; if ($2 == "total") k = "total"; v[k, $1] = (k == "total") ? $3 : $4; keys[k] = 1 }
        END { for (k in keys) print k, v[k, "guarded"] + 0, v[k, "absorbed"] + 0 }' | sort -k3,3nr -k4,4nr
}

# nic.summary: the figures tests/bench/summary.sh puts side by side ("key value..." lines)
: > "$out/nic.summary"
{
    echo "Postern guarded NIC benchmark ($(date -u +%F), QEMU TCG, -cpu $QEMU_CPU, e1000, $bytes bytes per direction over TCP)"
    printf '%-12s %8s %8s %22s %22s\n' mode "up s" "down s" "up: % of passthrough" "down: % of passthrough"
    for mode in $modes; do
        u=$(median_s "$mode" up); d=$(median_s "$mode" down); pu=$(median_pct "$mode" up); pd=$(median_pct "$mode" down)
        printf '%-12s %8s %8s %21.0f%% %21.0f%%\n' "$mode" "$u" "$d" "$pu" "$pd"
        printf 'throughput-pct %s %.0f %.0f\n' "$mode" "$pu" "$pd" >> "$out/nic.summary"
    done
    echo "($runs rounds; seconds: medians; throughput as a share of unguarded passthrough's: the median over"
    echo " the rounds of time(passthrough) / time(mode) within the round)"
    echo
    for d in up down; do
        tx=$(field "$out/nic-guarded.log" $d tx_packets); rx=$(field "$out/nic-guarded.log" $d rx_packets)
        tx2=$(field "$out/nic-absorbed.log" $d tx_packets); rx2=$(field "$out/nic-absorbed.log" $d rx_packets)
        if [ $d = up ]; then pk=$tx pk2=$tx2; what="per packet sent (TCP upload: $tx / $tx2 sent, $rx / $rx2 ACKs received)"
        else pk=$rx pk2=$rx2; what="per packet received (TCP download: $rx / $rx2 received, $tx / $tx2 ACKs sent)"; fi
        echo "Border crossings $what, by function, before (guarded) and after absorption (absorbed)"
        echo "(a call through a wrapper is 2 crossings; interrupts while privileged are 2 more):"
        printf '  %-6s %-30s %8s %8s %10s %10s\n' wrapper function calls calls before after
        side_by_side $d | awk -v p="$pk" -v q="$pk2" -v d=$d -v summary="$out/nic.summary" '
            $1 == "total" { t = $2; t2 = $3; next }
            { printf "  %-6s %-30s %8d %8d %10.2f %10.2f\n", $1, $2, $3, $4, 2 * $3 / p, 2 * $4 / q }
            END { printf "  %-55s %10.2f %10.2f\n", "all crossings per packet", t / p, t2 / q
                  printf "crossings-per-packet %s %.2f %.2f\n", d, t / p, t2 / q >> summary }'
        for m in guarded absorbed; do
            x=$(field "$out/nic-$m.log" $d vmexits)
            c=$(phase_crossings "$out/nic-$m.log" $d | awk '$1 == "total" { print $2 }')
            printf '  %-9s VM exits %7d, crossings %7d: %.2f exits per crossing\n' "$m:" "$x" "$c" "$(echo "$x / $c" | bc -l)"
            printf 'exits-per-crossing %s %s %.2f\n' $d $m "$(echo "$x / $c" | bc -l)" >> "$out/nic.summary"
        done
        for m in guarded absorbed; do # hv/guard/border.c intra_module_call: one exit each, not a crossing
            printf '  %-9s calls of the driver to its own entries, straight to the function (one exit, no crossing): %d\n' \
                "$m:" "$(phase_intra "$out/nic-$m.log" $d)"
        done
    done
    echo
    echo "The nested-paging border (guarded) against the wrappers-only border (wrappers), same driver:"
    printf '  %-10s %-5s %9s %9s %9s %12s %14s\n' mode dir packets "VM exits" crossings "exits/packet" "crossings/packet"
    for d in up down; do
        for m in guarded wrappers; do
            tx=$(field "$out/nic-$m.log" $d tx_packets); rx=$(field "$out/nic-$m.log" $d rx_packets)
            pk=$tx; [ $d = down ] && pk=$rx
            x=$(field "$out/nic-$m.log" $d vmexits)
            c=$(phase_crossings "$out/nic-$m.log" $d | awk '$1 == "total" { print $2 }')
            printf '  %-10s %-5s %9d %9d %9d %12.2f %14.2f\n' $m $d "$pk" "$x" "$c" "$(echo "$x / $pk" | bc -l)" "$(echo "$c / $pk" | bc -l)"
            printf 'border-exits-per-packet %s %s %.2f\n' $d $m "$(echo "$x / $pk" | bc -l)" >> "$out/nic.summary"
        done
    done
    echo "(up: per packet sent, down: per packet received; crossings include the nested-paging border's fetch crossings)"
    echo
    echo "Privilege change (measured by the hypervisor at boot, TSC under TCG):"
    tr -d '\r' < "$out/nic-guarded.log" | sed -n 's/^postern: bench: privilege change: /  /p'
    echo "Guarded device counters at the end of the guarded run (before absorption):"
    tr -d '\r' < "$out/nic-guarded.log" | sed -n 's/^postern: pci: guarded device /  /p'
} | tee "$out/nic.txt"
