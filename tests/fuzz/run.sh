#!/bin/sh
# Build and run the libFuzzer harnesses (docs/fuzzing.md).
#   tests/fuzz/run.sh [SECONDS]     run each target for SECONDS (default 60); `tests/fuzz/run.sh 10` is
#                                   the CI smoke mode. FUZZ_TARGETS="gmeta guard" restricts the set.
# Builds build/fuzz/fuzz_<name> with clang (-fsanitize=fuzzer,address,undefined), seeds from
# tests/fuzz/make-seeds.sh (build/fuzz/seeds/<name>), grows build/fuzz/corpus/<name>, keeps crash
# inputs in build/fuzz/crashes/<name>/. Prints one line per target and "N passed, N failed";
# exits non-zero when any target crashed or failed to build.
set -u
cd "$(dirname "$0")/../.." || exit 1
SECONDS_PER=${1:-60}
TARGETS=${FUZZ_TARGETS:-gmeta config guard insn acpi_iommu pci vuart shell hypercall}
CLANG=${CLANG:-clang}
OUT=build/fuzz
FLAGS="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -g -O1 -std=gnu11 -DHOST_TEST -I. -Ihv -Wall -Wextra -Wno-unused-parameter"

if ! command -v "$CLANG" >/dev/null 2>&1; then
    echo "run.sh: $CLANG not found (Debian: apt-get install -y clang)" >&2
    exit 2
fi
mkdir -p "$OUT"
CC_SEEDS=$CLANG tests/fuzz/make-seeds.sh "$OUT/seeds" >/dev/null || { echo "run.sh: seed generation failed" >&2; exit 2; }

passed=0 failed=0
for t in $TARGETS; do
    src=tests/fuzz/fuzz_$t.c
    bin=$OUT/fuzz_$t
    srcs=$(sed -n 's/.*FUZZ-SOURCES:\(.*\)\*\/.*/\1/p' "$src")
    if ! $CLANG $FLAGS -o "$bin" "$src" $srcs 2> "$OUT/fuzz_$t.build.log"; then
        echo "fuzz $t: build failed (see $OUT/fuzz_$t.build.log)"
        cat "$OUT/fuzz_$t.build.log" >&2
        failed=$((failed + 1))
        continue
    fi
    mkdir -p "$OUT/corpus/$t" "$OUT/crashes/$t"
    stamp=$OUT/crashes/$t/.stamp
    : > "$stamp"
    log=$OUT/fuzz_$t.log
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=abort_on_error=0:detect_leaks=1 \
    "$bin" -max_total_time="$SECONDS_PER" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$OUT/crashes/$t/" "$OUT/corpus/$t" "$OUT/seeds/$t" > "$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    [ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9]*\).*/\1/p' "$log" | tail -n 1)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' "$log" | tail -n 1)
    rate=$(sed -n 's/.* exec\/s: \([0-9]*\).*/\1/p' "$log" | tail -n 1)
    crashes=$(find "$OUT/crashes/$t" -type f ! -name .stamp -newer "$stamp" | wc -l)
    echo "fuzz $t: ${execs:-0} execs, ${cov:-0} coverage, crashes: $crashes  (${rate:-?} exec/s, ${SECONDS_PER}s, log $log)"
    if [ "$rc" -eq 0 ] && [ "$crashes" -eq 0 ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        grep -m 3 -E 'ERROR|invariant violated|runtime error' "$log" | sed 's/^/    /'
        find "$OUT/crashes/$t" -type f ! -name .stamp -newer "$stamp" | sed 's/^/    crash input: /'
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
