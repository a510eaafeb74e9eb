#!/usr/bin/env bash
# make test: every host unit test (cmocka), then the QEMU integration tests.
# Ends with one line "N passed, N failed" counted over every test case; exits non-zero on any
# failure. UNIT_ONLY=1 skips the integration tests.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
pass=0 fail=0

echo "== unit tests"
for bin in "$top"/build/unit/test_*; do
    [ -x "$bin" ] || continue
    name=$(basename "$bin")
    out=$(CMOCKA_MESSAGE_OUTPUT=TAP "$bin" 2>&1)
    rc=$?
    ok=$(grep -cE '^ok [0-9]+' <<<"$out")
    bad=$(grep -cE '^not ok [0-9]+' <<<"$out")
    grep -E '^(not )?ok [0-9]+' <<<"$out" | sed "s/^ok [0-9]* - /PASS: unit\/$name\//; s/^not ok [0-9]* - /FAIL: unit\/$name\//"
    if [ $rc -ne 0 ] && [ "$bad" -eq 0 ]; then
        # crashed (sanitizer, signal) rather than failing an assertion
        echo "FAIL: unit/$name (exit status $rc)"
        echo "$out" | tail -n 20 | sed 's/^/    /'
        bad=1
    elif [ "$bad" -gt 0 ]; then
        grep -vE '^(not )?ok [0-9]+|^1\.\.|^# ' <<<"$out" | sed 's/^/    /' | head -n 20
    fi
    pass=$((pass + ok)) fail=$((fail + bad))
done

if [ "${UNIT_ONLY:-0}" != 1 ]; then
    echo "== integration tests (QEMU: OVMF -> postern.efi -> Linux)"
    out=$("$top/tests/integration/run.sh")
    echo "$out" | grep -v -E '^[0-9]+ passed, [0-9]+ failed$'
    pass=$((pass + $(grep -c '^PASS: ' <<<"$out")))
    fail=$((fail + $(grep -c '^FAIL: ' <<<"$out")))
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
