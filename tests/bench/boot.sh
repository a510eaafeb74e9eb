#!/usr/bin/env bash
# make bench: the same kernel + initramfs booted (a) by QEMU directly and (b) by OVMF → Postern,
# same CPU model and memory, runs interleaved. Reports medians and ratios, and the VM exits by
# reason under Postern. Absolute times on shared machines are noise: read the ratios.
#   RUNS=3 (default)   results also go to build/bench/results.txt
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
source "$top/tools/qemu.sh"
out=${BENCH_OUT:-$top/build/bench} # BENCH_OUT: somewhere else (e.g. a trial run)
runs=${RUNS:-3}
mkdir -p "$out"
cmdline="console=ttyS0,115200 panic=-1 loglevel=7 postern.test=bench"
sed -e "s|^cmdline = .*|cmdline = $cmdline|" "$top/tools/postern.cfg" > "$out/postern.cfg"
"$top/tools/mkesp.sh" "$out/esp.img" "$out/postern.cfg"

# wait_for LOG PID: seconds from now until the guest's marker appears (or 300 s), then stop QEMU.
wait_marker() {
    local log=$1 pid=$2 t0=$3
    while ! grep -aq POSTERN-GUEST-READY "$log" 2>/dev/null; do
        kill -0 "$pid" 2>/dev/null || { echo "-1"; return; }
        [ "$(date +%s)" -lt $((${t0%.*} + 300)) ] || { echo "-1"; return; }
        sleep 0.05
    done
    echo "$(date +%s.%N) - $t0" | bc
}

# The kernel's own clock at "Run /init": kernel boot time alone, firmware excluded.
kernel_time() { tr -d '\r' < "$1" | sed -n 's/^\[ *\([0-9.]*\)\] Run \/init as init process.*/\1/p' | head -1; }

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

: > "$out/direct.wall"; : > "$out/postern.wall"; : > "$out/direct.kernel"; : > "$out/postern.kernel"
for i in $(seq "$runs"); do
    for mode in direct postern; do
        log=$out/$mode-$i.log
        rm -f "$log"
        t0=$(date +%s.%N)
        if [ $mode = direct ]; then
            qemu_direct -append "$cmdline" -serial "file:$log" -monitor none >/dev/null 2>&1 &
        else
            qemu_postern "$out/esp.img" "$out/vars.fd" -serial "file:$log" -monitor none >/dev/null 2>&1 &
        fi
        pid=$!
        wall=$(wait_marker "$log" $pid "$t0")
        # let the guest power off so Postern prints its exit counts
        for _ in $(seq 100); do kill -0 $pid 2>/dev/null || break; grep -aq "hypervisor alive\|reboot: Power down" "$log" && break; sleep 0.1; done
        kill $pid 2>/dev/null || true
        wait $pid 2>/dev/null || true
        echo "$wall" >> "$out/$mode.wall"
        kernel_time "$log" >> "$out/$mode.kernel"
        echo "run $i $mode: marker after ${wall}s (kernel to init: $(kernel_time "$log")s)"
    done
done

# Guarded-module crossings: one Postern boot running the guarded scenario (gtest: reads through
# /proc with a call out, a nested callback and ~200 M cycles of timer interrupts while privileged),
# which powers off so the hypervisor prints its counters.
sed -e "s|^cmdline = .*|cmdline = console=ttyS0,115200 panic=-1 loglevel=6 postern.test=guarded|" \
    "$top/tools/postern.cfg" > "$out/guarded.cfg"
"$top/tools/mkesp.sh" "$out/guarded.img" "$out/guarded.cfg"
rm -f "$out/guarded.log"
qemu_postern "$out/guarded.img" "$out/vars.fd" -serial "file:$out/guarded.log" -monitor none >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1200); do kill -0 $pid 2>/dev/null || break; grep -aq "hypervisor alive" "$out/guarded.log" && break; sleep 0.1; done
kill $pid 2>/dev/null || true
wait $pid 2>/dev/null || true

dw=$(median < "$out/direct.wall"); pw=$(median < "$out/postern.wall")
dk=$(median < "$out/direct.kernel"); pk=$(median < "$out/postern.kernel")
{
    echo "Postern boot benchmark ($(date -u +%F), QEMU TCG, -cpu $QEMU_CPU, -m $QEMU_MEM, $runs runs each, medians)"
    echo "kernel: $(cat "$top/build/guest/kernel-version")"
    printf '%-36s %10s %10s %8s\n' "" direct postern ratio
    printf '%-36s %9.2fs %9.2fs %7.2fx\n' "QEMU start to guest marker (wall)" "$dw" "$pw" "$(echo "$pw / $dw" | bc -l)"
    printf '%-36s %9.2fs %9.2fs %7.2fx\n' "kernel start to /init (guest clock)" "$dk" "$pk" "$(echo "$pk / $dk" | bc -l)"
    echo "(the wall time under Postern includes OVMF, ~4-5 s; direct boot uses QEMU's -kernel loader)"
    echo
    echo "VM exits by reason during one boot to the marker and power-off (run 1):"
    tr -d '\r' < "$out/postern-1.log" | sed -n 's/^postern: exits \([^ ]*\) \([0-9]*\)$/  \1 \2/p' | sort -k2 -n -r
    echo
    echo "Guarded module gtest (scenario 'guarded'): border crossings by kind, hypervisor cycles per"
    echo "crossing (exit handler only, TSC under TCG: compare kinds, not machines), and by site:"
    tr -d '\r' < "$out/guarded.log" | sed -n 's/^postern: guard: crossings /  /p'
    tr -d '\r' < "$out/guarded.log" | sed -n 's/^postern: guard:   site /  site /p'
    echo "VM exits during that run:"
    tr -d '\r' < "$out/guarded.log" | sed -n 's/^postern: exits \([^ ]*\) \([0-9]*\)$/  \1 \2/p' | sort -k2 -n -r
} | tee "$out/results.txt"
