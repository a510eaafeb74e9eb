#!/usr/bin/env bash
# make bench, idle part (issue 8; docs/idle.md, docs/lab/performance.md): HLT and MWAIT exits for the
# same idling with and without the guarded idle module, two boots one after the other:
#   bound     gidle holds `idle` (tools/postern.cfg's `bind = gidle idle`); gidleplain, the same
#             code as an ordinary module, idles right after it in the same boot
#   unbound   the bind line deleted: gidle registers but holds nothing
# Each boot runs the guest scenario idle.sh (postern.test=idle): N HLTs with interrupts on, then
# N MONITOR/MWAITs, each run bracketed by HC_STATS_EXITS (HLT exits, MONITOR/MWAIT exits, all exits).
#   IDLE_N (default 1000)   output: build/bench/idle.txt
#   BENCH_REPORT_ONLY=1     print the report from the last run's logs
# shellcheck source-path=SCRIPTDIR/../..
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tools/qemu.sh
source "$top/tools/qemu.sh"
# shellcheck source=tests/lib/boot.sh
source "$top/tests/lib/boot.sh"
out=${BENCH_OUT:-$top/build/bench}
mkdir -p "$out"
n=${IDLE_N:-1000}
export NIC=none IOMMU=amd

run_one() { # MODE LOG
    local mode=$1 log=$2 pid
    rm -f "$log"
    { grep -v '^cmdline\|^guarded_nic\|^bind = gidle' "$top/tools/postern.cfg"
      echo "cmdline = console=ttyS0,115200 panic=-1 loglevel=6 postern.test=idle postern.idle=$mode postern.idle_n=$n"
      [ "$mode" = bound ] && echo "bind = gidle idle"
      true
    } > "$out/idle-$mode.cfg"
    "$top/tools/mkesp.sh" "$out/idle-$mode.img" "$out/idle-$mode.cfg" > /dev/null
    qemu_postern "$out/idle-$mode.img" "$out/vars.fd" -serial "file:$log" -monitor none >/dev/null 2>&1 &
    pid=$!
    boot_expect "$log" $pid "hypervisor alive" 600
    boot_stop $pid
}

for mode in bound unbound; do
    echo "bench-idle: $mode ..."
    [ "${BENCH_REPORT_ONLY:-0}" = 1 ] || run_one $mode "$out/idle-$mode.log"
    grep -aq "IDLE-DONE" "$out/idle-$mode.log" || { echo "bench-idle: the $mode run did not finish (see $out/idle-$mode.log)"; exit 1; }
    if grep -aq "^FAIL idle" "$out/idle-$mode.log"; then
        echo "bench-idle: the $mode run failed its checks:"; grep -a "^FAIL idle" "$out/idle-$mode.log"; exit 1
    fi
done

{
    echo "Postern guarded idle loop benchmark ($(date -u +%F), QEMU TCG, -cpu $QEMU_CPU, $n idle instructions per run)"
    printf '%-8s %-11s %-6s %6s %10s %12s %10s %10s %14s\n' boot module op n "hlt exits" "mwait exits" "all exits" "exits/insn" "cycles/insn"
    for mode in bound unbound; do
        tr -d '\r' < "$out/idle-$mode.log" | awk -v m=$mode '$1 == "IDLE-RESULT" {
            split($0, c, "cycles="); cyc = c[2] + 0
            printf "%-8s %-11s %-6s %6d %10d %12d %10d %10.2f %14d\n", m, $2, $3, $4, $6, $8, $10, $10 / $4, cyc / $4 }'
    done
    echo "(exits/insn: all VM exits during the run per HLT or MWAIT executed; cycles/insn: guest TSC per idle"
    echo " instruction, i.e. the time to the next interrupt. MONITOR and MWAIT each exit when intercepted.)"
    echo "VM exits by reason at the end of the bound boot:"
    tr -d '\r' < "$out/idle-bound.log" | sed -n 's/^postern: exits /  /p' | tr '\n' ' '; echo
    tr -d '\r' < "$out/idle-bound.log" | sed -n 's/^postern: idle: /  idle component: /p'
} | tee "$out/idle.txt"
