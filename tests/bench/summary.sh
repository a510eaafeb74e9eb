#!/usr/bin/env bash
# make bench's last step: issue 8's figures from this run, side by side with its goals
# (docs/lab/performance.md). Reads what the other bench scripts wrote into build/bench/ (BENCH_OUT):
# nic.summary (tests/bench/nic.sh), guard.txt (tests/bench/guard.sh), idle.txt (tests/bench/idle.sh),
# and issue 15's boot ratio from boot.summary (tests/bench/boot.sh), when that ran.
# Output also in build/bench/summary.txt.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${BENCH_OUT:-$top/build/bench}
for f in nic.summary guard.txt idle.txt; do
    [ -r "$out/$f" ] || { echo "bench-summary: $out/$f missing (run make bench)" >&2; exit 1; }
done
get() { awk -v k="$1" -v a="$2" -v b="${3:-}" '$1 == k && $2 == a && (b == "" || $3 == b)' "$out/nic.summary"; }
met() { awk -v v="$1" -v g="$2" -v op="$3" 'BEGIN { ok = (op == "le") ? v <= g : v >= g; print ok ? "met" : "NOT met" }'; }
{
    echo "Issue 8 in this run (before = the christoized e1000, after = the same with its leaf functions absorbed):"
    printf '  %-52s %10s %10s %8s  %s\n' figure before after goal ""
    read -r _ _ sb sa <<< "$(get crossings-per-packet up)"
    printf '  %-52s %10s %10s %8s  %s\n' "border crossings per packet sent (upload phase)" "$sb" "$sa" "<= 1" "$(met "$sa" 1 le)"
    read -r _ _ rb ra <<< "$(get crossings-per-packet down)"
    printf '  %-52s %10s %10s %8s  %s\n' "border crossings per packet received (download phase)" "$rb" "$ra" "<= 2" "$(met "$ra" 2 le)"
    for d in up down; do
        xb=$(get exits-per-crossing $d guarded | awk '{ print $4 }'); xa=$(get exits-per-crossing $d absorbed | awk '{ print $4 }')
        printf '  %-52s %10s %10s\n' "VM exits per crossing ($d phase)" "$xb" "$xa"
    done
    ir=$(awk '$1 ~ /^border-|^iret-not-ours/ { if ($4 > m) { m = $4; k = $1 } } END { print m, k }' "$out/guard.txt")
    printf '  %-52s %21s %8s  %s\n' "host instructions per crossing (costliest kind)" "${ir% *} (${ir#* })" "<= 300" "$(met "${ir% *}" 300 le)"
    for m in guarded absorbed; do
        read -r _ _ u d <<< "$(get throughput-pct $m)"
        printf '  %-52s %21s %8s  %s\n' "TCP throughput, % of unguarded passthrough ($m)" "up $u, down $d" ">= 90" "$(met "$(( u < d ? u : d ))" 90 ge)"
    done
    awk '$1 == "bound" && $2 == "gidle" && tolower($3) == "hlt" { w = $5 } $1 == "bound" && $2 == "gidleplain" && tolower($3) == "hlt" { wo = $5; n = $4 }
         END { printf "  %-52s %21s\n", "HLT exits for " n " HLTs: with / without the idle module", w " / " wo }' "$out/idle.txt"
    echo "Issue 15 in this run:"
    if [ -r "$out/boot.summary" ]; then
        read -r _ r g < <(grep '^boot-vs-ovmf ' "$out/boot.summary")
        printf '  %-52s %21s %8s  %s\n' "Postern's boot time, x OVMF -> Linux's (wall)" "${r}x" "<= ${g}x" "$(met "$r" "$g" le)"
    else
        echo "  Postern's boot time against OVMF -> Linux: not measured (tests/bench/boot.sh did not run)"
    fi
} | tee "$out/summary.txt"
