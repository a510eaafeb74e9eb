#!/usr/bin/env bash
# make test (after building): the lint checks (tools/lint.sh), every host unit test binary (cmocka),
# a fuzz smoke pass, the QEMU integration tests, the attack suite (tests/attacks/), then the VT-x
# backend under Bochs and nested KVM (each skipped with its reason where it cannot run).
# Prints "PASS: unit/<binary>/<case>" / "FAIL: ..." per case and ends with exactly one line
# "N passed, N failed" over everything; exits non-zero on any failure or crashed runner.
# UNIT_ONLY=1 skips the fuzz smoke pass, the integration tests and the attack suite.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
pass=0 fail=0

# counted TITLE RUNNER: a runner that prints PASS:/FAIL: lines and its own "N passed, N failed"
# summary, which is hidden so that only ours ends the output; its lines are counted from a copy.
counted() {
    local title=$1 runner=$2 log rc ok bad
    echo "== $title"
    log=$(mktemp)
    "$top/$runner" 2>&1 | tee "$log" | grep -vE '^[0-9]+ passed, [0-9]+ failed$'
    rc=${PIPESTATUS[0]}
    ok=$(grep -c '^PASS: ' "$log")
    bad=$(grep -c '^FAIL: ' "$log")
    rm -f "$log"
    if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
        echo "FAIL: ${runner#tests/} (crashed: exit status $rc)"
        bad=1
    fi
    pass=$((pass + ok)) fail=$((fail + bad))
}

# Formatting, shellcheck, cppcheck, the extra-warning build, commit subjects.
counted "lint" tools/lint.sh

echo "== unit tests"
for bin in "$top"/build/unit/test_*; do
    [ -f "$bin" ] && [ -x "$bin" ] || continue
    name=$(basename "$bin")
    if [ ! -f "$top/tests/unit/$name.c" ]; then
        echo "note: skipping $name: tests/unit/$name.c is gone (stale binary)"
        continue
    fi
    # TAP output: one "ok N - case" / "not ok N - case" line per case, "not ok N # SKIP case" for a
    # skipped one (its reason on the "# skip-reason: ..." line before it: tests/unit/skip_because.h),
    # details on "# " lines. A skip is printed with its reason and counted neither way.
    out=$(cd "$top" && CMOCKA_MESSAGE_OUTPUT=TAP "$bin" 2>&1)
    rc=$?
    ok=$(grep -cE '^ok [0-9]+' <<<"$out")
    bad=$(grep -cE '^not ok [0-9]+ - ' <<<"$out")
    awk -v bin="$name" -v failed="$rc" '
        /^# skip-reason: / { why = substr($0, 16); next }
        /^ok [0-9]+ - / { sub(/^ok [0-9]+ - /, ""); print "PASS: unit/" bin "/" $0; next }
        /^not ok [0-9]+ # SKIP/ { sub(/^not ok [0-9]+ # SKIP */, "");
            print "skipped: unit/" bin "/" $0 ": " (why != "" ? why : "no reason given"); why = ""; next }
        /^not ok [0-9]+ - / { sub(/^not ok [0-9]+ - /, ""); print "FAIL: unit/" bin "/" $0; next }
        # on failure, also everything else it printed (assertion messages, sanitizer reports), indented
        failed != 0 && !/^1\.\.[0-9]+$/ && !/^# (not )?ok - / { print "    " $0 }
    ' <<<"$out"
    # a "not ok" line of any other shape is a failure with its own line, never a silent count
    while read -r odd; do
        echo "FAIL: unit/$name (unrecognised TAP line: $odd)"
        bad=$((bad + 1))
    done < <(grep -E '^not ok' <<<"$out" | grep -vE '^not ok [0-9]+ (- |# SKIP)')
    if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
        # died (sanitizer report, signal, exit) without a failing case to show for it
        echo "FAIL: unit/$name (crashed: exit status $rc)"
        bad=1
    fi
    pass=$((pass + ok)) fail=$((fail + bad))
done

# A short libFuzzer pass over the parsers and the state machine (docs/fuzzing.md; `make fuzz` runs
# longer). FUZZ_SMOKE=N seconds per target (default 5), 0 skips it.
if [ "${UNIT_ONLY:-0}" != 1 ] && [ "${FUZZ_SMOKE:-5}" != 0 ]; then
    echo "== fuzz smoke (${FUZZ_SMOKE:-5} s per target)"
    out=$("$top/tests/fuzz/run.sh" "${FUZZ_SMOKE:-5}" 2>&1)
    ran=0
    while read -r target crashes; do
        ran=$((ran + 1))
        if [ "$crashes" = 0 ]; then
            echo "PASS: fuzz/$target"; pass=$((pass + 1))
        else
            echo "FAIL: fuzz/$target ($crashes crashes, inputs in build/fuzz/crashes/$target/)"; fail=$((fail + 1))
        fi
    done < <(sed -n 's/^fuzz \([a-z_]*\): .*crashes: \([0-9]*\).*/\1 \2/p' <<<"$out")
    # A harness that did not build ran nothing: a failure, never a silent omission.
    while read -r target; do
        ran=$((ran + 1))
        echo "FAIL: fuzz/$target (did not build: build/fuzz/fuzz_$target.build.log)"; fail=$((fail + 1))
    done < <(sed -n 's/^fuzz \([a-z_]*\): build failed.*/\1/p' <<<"$out")
    if [ "$ran" -eq 0 ]; then
        echo "FAIL: fuzz (the harnesses did not run)"
        tail -n 10 <<<"$out" | sed 's/^/    /'
        fail=$((fail + 1))
    fi
fi

if [ "${UNIT_ONLY:-0}" != 1 ]; then
    [ ! -x "$top/tests/integration/run.sh" ] || counted "integration tests" tests/integration/run.sh
    # Linux's x86 selftests under Postern and under QEMU's direct boot: the same results in both.
    [ ! -x "$top/tests/x86-selftests/run.sh" ] || counted "x86 selftests (Postern and direct)" tests/x86-selftests/run.sh
    # The attack suite (docs/security.md): a few boots running many attacks each, then the table
    # "attack | expected | observed".
    [ ! -x "$top/tests/attacks/run.sh" ] || counted "attack suite" tests/attacks/run.sh
fi

# The VT-x backend: under Bochs (VMLAUNCH and the guest's first exits, ~40 s; the guarded-module
# scenario with all its PASS lines, ~3 min; the guarded e1000 pinging Bochs's virtual host with
# iommu = off, ~2 min; the longer stage is tests/bochs/run.sh shell) and under nested KVM where the
# machine has it. Each prints
# "skipped: <reason>" lines where it cannot run; those count neither way.
if [ "${UNIT_ONLY:-0}" != 1 ]; then
    echo "== VT-x (Bochs, nested KVM)"
    log=$(mktemp)
    { "$top/tests/bochs/run.sh" vmlaunch gtest nic; "$top/tests/kvm-vmx.sh"; } 2>&1 | tee "$log" | grep -vE '^[0-9]+ passed, [0-9]+ failed$'
    ok=$(grep -c '^PASS: ' "$log")
    bad=$(grep -c '^FAIL: ' "$log")
    rm -f "$log"
    pass=$((pass + ok)) fail=$((fail + bad))
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
