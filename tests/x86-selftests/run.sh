#!/usr/bin/env bash
# Linux's own tools/testing/selftests/x86 (guest-images/x86-selftests.sh), run in the guest under
# Postern and under QEMU's direct boot of the same kernel (DIRECT=1), one boot each
# (x86-selftests.case); every program must behave the same in both: the same exit status and the
# same numbers of [OK], [FAIL] and [SKIP] lines. A program that fails in both must be listed in
# tcg-failures.txt with the reason (QEMU's TCG), never silently accepted.
# Prints "PASS: x86-selftests/..." / "FAIL: ..." lines and "N passed, N failed" last.
# LOGS_ONLY=1 compares the serial logs of the last two boots again without booting.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
guest=${GUEST_DIR:-$top/build/guest}
pass=0 fail=0
ok() { echo "PASS: x86-selftests/$1"; pass=$((pass + 1)); }
bad() { echo "FAIL: x86-selftests/$1"; fail=$((fail + 1)); }

if [ ! -r "$guest/initrd-selftests.img" ]; then
    bad "build (no $guest/initrd-selftests.img: make guest builds it, guest-images/x86-selftests.sh)"
    echo "$pass passed, $fail failed"
    exit 1
fi

# boot MODE: the case under Postern (postern) or QEMU's -kernel (direct); its serial log's lines.
declare -A secs=()
boot() {
    local mode=$1 out
    out=$(CASES_DIR=$here JOBS=1 DIRECT=$([ "$mode" = direct ] && echo 1 || echo 0) \
          "$top/tests/integration/run.sh" x86-selftests 2>&1)
    if grep -q '^PASS: x86-selftests' <<<"$out"; then
        ok "$mode-boot ($(sed -n 's/^PASS: x86-selftests (\(.*\))/\1/p' <<<"$out") wall)"
    else
        bad "$mode-boot"
        grep -v '^[0-9]* passed' <<<"$out" | sed 's/^/    /'
    fi
}
if [ "${LOGS_ONLY:-0}" != 1 ]; then
    boot postern
    boot direct
fi
logs=("$top/build/itest/x86-selftests/serial.log" "$top/build/itest-direct/x86-selftests/serial.log")
lines() { tr -d '\r' < "$1" 2>/dev/null | grep -a '^X86-SELFTEST ' | cut -d' ' -f2-; }
for i in 0 1; do
    secs[$i]=$(tr -d '\r' < "${logs[$i]}" 2>/dev/null | sed -n 's/^X86-SELFTESTS-DONE \([0-9]*\) programs in \(.*\) s$/\1 programs in \2 s/p')
done
echo "x86-selftests: under Postern ${secs[0]:-(no summary line)}, directly ${secs[1]:-(no summary line)} (guest uptime; the boots took the wall times above)"

declare -A p=() d=() reason=()
while read -r prog rest; do p[$prog]=$rest; done < <(lines "${logs[0]}")
while read -r prog rest; do d[$prog]=$rest; done < <(lines "${logs[1]}")
while read -r prog why; do
    [[ -z $prog || $prog == \#* ]] || reason[$prog]=$why
done < "$here/tcg-failures.txt"
[ ${#p[@]} -gt 0 ] || bad "results (no X86-SELFTEST lines under Postern)"
[ ${#d[@]} -gt 0 ] || bad "results (no X86-SELFTEST lines in the direct boot)"
for prog in $(printf '%s\n' "${!p[@]}" "${!d[@]}" | sort -u); do
    a=${p[$prog]:-missing} b=${d[$prog]:-missing}
    if [ "$a" != "$b" ]; then
        bad "$prog (under Postern: $a; direct: $b)"
    elif [[ $a == "rc=0 "*" fail=0 "* ]]; then
        ok "$prog ($a in both)"
        [ -z "${reason[$prog]:-}" ] || [ "$prog" = syscall_numbering_64 ] ||
            echo "    note: $prog passes in both but is listed in tcg-failures.txt: stale entry"
    elif [ -n "${reason[$prog]:-}" ]; then
        ok "$prog ($a in both; QEMU's TCG: ${reason[$prog]})"
    else
        bad "$prog ($a in both, and tcg-failures.txt gives no reason)"
    fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
