#!/usr/bin/env bash
# The attack suite (docs/security.md): every attack of attacks.table run as real guest-side code
# under Postern in QEMU, grouped into a few boots (cases/attacks-*.case, run by
# tests/integration/run.sh with CASES_DIR), then judged from each boot's serial log.
#   tests/attacks/run.sh            boot and judge
#   ATTACKS_REUSE=1 tests/attacks/run.sh   judge the logs of the last run again (no QEMU)
# Prints the boots' PASS:/FAIL: lines (as attack-boot/NAME), the table
#   attack | expected | observed
# then "PASS: attack/ID ..." / "FAIL: attack/ID ..." per row and "N passed, N failed"; exits non-zero
# on any failure.
#
# Observed comes from the log only, never from the expectation:
#   granted   the guest's ATTACK-RESULT line says granted=0, and the row's "granted" regex (if any)
#             appears nowhere in the log
#   logged    a "postern: " line matching the row's regex: since the ATTACK-END before the attack's
#             ATTACK-BEGIN (scope attack) or anywhere before its ATTACK-END (scope boot)
#   alive     its ATTACK-END carries the hypervisor's answer to the version hypercall, the boot's
#             "ATTACKS-DONE" came after, and the hypervisor never panicked
# The ATTACK-CONTROL lines (the genuine module holds its privilege, gdma holds `nic`) must hold too:
# without them "not granted" would mean nothing.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
here=$top/tests/attacks
table=$here/attacks.table
base=$top/build/itest
fails=0 passes=0

# The table with its " | " separators as ASCII unit separators (a regex may hold a bare "|").
rows_of_table() { grep -v '^#' "$table" | sed 's/ | /\x1f/g'; }
cases=$(rows_of_table | cut -d$'\x1f' -f2 | sort -u)
if [ "${ATTACKS_REUSE:-0}" != 1 ]; then
    mkdir -p "$base"
    # shellcheck disable=SC2046,SC2086 # one word per case
    CASES_DIR=$here/cases JOBS=${JOBS:-1} "$top/tests/integration/run.sh" $(printf 'attacks-%s ' $cases) 2>&1 |
        grep -E '^(PASS|FAIL|SKIP): ' | sed -E 's/^(PASS|FAIL|SKIP): /\1: attack-boot\//' | tee "$base/attacks-boots.out"
    passes=$((passes + $(grep -c '^PASS: ' "$base/attacks-boots.out")))
    fails=$((fails + $(grep -c '^FAIL: ' "$base/attacks-boots.out")))
fi

# The serial log of a boot, without carriage returns, once per run.
declare -A logs
log_of() {
    local c=$1
    if [ -z "${logs[$c]:-}" ]; then
        logs[$c]=$(mktemp)
        tr -d '\r' < "$base/attacks-$c/serial.log" > "${logs[$c]}" 2>/dev/null || true
    fi
    printf '%s' "${logs[$c]}"
}

# line_of LOG FIXED-STRING: the first line number holding it (empty if none)
line_of() { grep -anF -m1 -- "$2" "$1" | cut -d: -f1; }

# observe ROW-FIELDS...: prints the observed column
observe() {
    local id=$1 c=$2 logged=$3 scope=$4 granted_re=$5 log b e r start alive
    log=$(log_of "$c")
    b=$(line_of "$log" "ATTACK-BEGIN $id")
    e=$(line_of "$log" "ATTACK-END $id ")
    r=$(grep -a -m1 "^ATTACK-RESULT $id " "$log")
    [ -n "$b" ] || { echo "not run (no ATTACK-BEGIN $id in build/itest/attacks-$c/serial.log)"; return; }
    [ -n "$e" ] || { echo "NOT blocked: the guest or the hypervisor died during it"; return; }
    alive=yes
    # (no grep -q after a pipe: with pipefail, the writer's SIGPIPE would fail the pipeline)
    grep -a "^ATTACK-END $id " "$log" | grep 'hv=rax_0_rbx_0x1' > /dev/null || alive="the hypervisor did not answer"
    tail -n +"$e" "$log" | grep -a "^ATTACKS-DONE $c" > /dev/null || alive="the guest did not finish the boot's attacks"
    ! grep -aq 'postern: PANIC' "$log" || alive="the hypervisor panicked"
    case "$r" in
        *" granted=0 "* | *" granted=0") ;;
        *" granted=?"*) echo "NOT observed: ${r#"ATTACK-RESULT $id granted=? "}"; return ;;
        *) echo "NOT blocked: privilege granted: ${r#"ATTACK-RESULT $id granted="*" "}"; return ;;
    esac
    if [ -n "$granted_re" ] && grep -aEq -- "postern: $granted_re" "$log"; then
        echo "NOT blocked: $(grep -aE -m1 -- "postern: $granted_re" "$log")"
        return
    fi
    [ "$alive" = yes ] || { echo "NOT blocked: $alive"; return; }
    if [ "$scope" = boot ]; then start=1; else
        start=$(head -n "$b" "$log" | grep -an '^ATTACK-END ' | tail -n 1 | cut -d: -f1)
        start=${start:-1}
    fi
    if [ -z "$logged" ]; then
        echo "blocked, nothing logged"
    elif sed -n "${start},${e}p" "$log" | grep -aE -- "postern: $logged" > /dev/null; then
        echo "blocked"
    else
        echo "NOT blocked: not logged (no /$logged/)"
    fi
}

for c in $cases; do log_of "$c" > /dev/null; done # fill the cache here, not in observe's subshells
results=()
printf '%-68s | %-16s | %s\n' "attack" "expected" "observed"
printf '%s\n' "$(printf '%.0s-' {1..120})"
while IFS=$'\x1f' read -r id c attack expect logged scope granted_re note; do
    [ -n "$id" ] && [ "${id:0:1}" != "#" ] || continue
    obs=$(observe "$id" "$c" "$logged" "$scope" "$granted_re")
    printf '%-68s | %-16s | %s\n' "$attack" "$expect" "$obs"
    case "$expect:$obs" in
        blocked:blocked | blocked-unlogged:blocked | "blocked-unlogged:blocked, nothing logged")
            results+=("PASS: attack/$id ($obs)") ;;
        pending-npt:blocked)
            results+=("FAIL: attack/$id (now blocked: flip it from pending-npt to blocked in tests/attacks/attacks.table)") ;;
        pending-npt:"NOT blocked"* | pending-npt:"NOT observed"*)
            results+=("PASS: attack/$id (pending-npt, as expected today: $obs; $note)") ;;
        *)
            results+=("FAIL: attack/$id (expected $expect, observed: $obs)") ;;
    esac
done < <(rows_of_table)

# The controls: what makes "not granted" meaningful.
control() { # CASE NAME MUST-CONTAIN
    local log line
    log=$(log_of "$1")
    line=$(grep -a -m1 "^ATTACK-CONTROL $2 " "$log")
    case "$line" in
        *"$3"*) results+=("PASS: attack/control-$2") ;;
        *) results+=("FAIL: attack/control-$2 (expected \"$3\", saw: ${line:-nothing})") ;;
    esac
}
control kernel genuine-gtest "read=1"
control kernel return-tamper-genuine-path "privileged after it: 1"
control kernel gdma-holds-nic "STATUS read inside: 0x"
control kernel private-inside 'status 0, reads "POSTERN-PRIVATE-SECRET" inside the border'
control ecam nic-id-through-ecam "reads 0x100e8086"
if grep -a "^ATTACK-CONTROL gdma-holds-nic " "$(log_of kernel)" | grep 'STATUS read inside: 0x00000000' > /dev/null; then
    results+=("FAIL: attack/control-gdma-holds-nic-nonzero (gdma read STATUS 0 inside its border)")
fi

printf '%s\n' "${results[@]}"
passes=$((passes + $(printf '%s\n' "${results[@]}" | grep -c '^PASS: ')))
fails=$((fails + $(printf '%s\n' "${results[@]}" | grep -c '^FAIL: ')))
for f in "${logs[@]}"; do rm -f "$f"; done
echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
