#!/usr/bin/env bash
# Host instructions per border crossing in the state machine (part of make bench; no QEMU).
# Runs build/perf/guard_bench (tests/bench/guard_bench.c) under callgrind and prints, per event
# kind, the instructions guard_event() executed (inclusive: site lookup, frame table, stack check,
# privilege registry, counters), divided by the number of such events. Exact counts, not times.
#   tests/bench/guard.sh [MODULE.gmeta]   without one: a synthetic module with the e1000's profile
# Results also go to build/bench/guard.txt (BENCH_OUT: elsewhere).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${BENCH_OUT:-$top/build/bench}
bin=$top/build/perf/guard_bench
gmeta=${1:-}
mkdir -p "$out"
command -v valgrind >/dev/null || { echo "bench-guard: valgrind is missing (tools/install-deps.sh)"; exit 1; }
[ -x "$bin" ] || make -C "$top" --no-print-directory build/perf/guard_bench >/dev/null

cg=$out/guard.callgrind
valgrind --tool=callgrind --separate-callers=1 --callgrind-out-file="$cg" "$bin" ${gmeta:+"$gmeta"} > "$out/guard.counts" 2> "$out/guard.valgrind" ||
    { cat "$out/guard.valgrind" "$out/guard.counts"; echo "bench-guard: the replay failed"; exit 1; }
callgrind_annotate --inclusive=yes --threshold=100 "$cg" > "$out/guard.annotate"

{
    grep -v '^count ' "$out/guard.counts"
    echo "host instructions per crossing (guard_event, callgrind Ir; goal <= 300):"
    printf '  %-18s %8s %12s %10s\n' kind events Ir "Ir/event"
    while read -r _ kind fn n; do
        ir=$(grep -E ":guard_event'$fn( |$)" "$out/guard.annotate" | head -1 | awk '{gsub(",", "", $1); print $1}')
        printf '  %-18s %8s %12s %10s\n' "$kind" "$n" "${ir:-?}" "$([ -n "$ir" ] && [ "$n" -gt 0 ] && echo $((ir / n)) || echo ?)"
    done < <(grep '^count ' "$out/guard.counts")
} | tee "$out/guard.txt"
