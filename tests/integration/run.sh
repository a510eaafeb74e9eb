#!/usr/bin/env bash
# QEMU integration tests: OVMF → postern.efi → Linux guest, assertions on the serial log.
#   tests/integration/run.sh [CASE...]     (default: every cases/*.case), 2 at a time
# Prints "PASS: <case>" / "FAIL: <case> (<why>)" per case and "N passed, N failed" last.
# A case file (bash) sets: CMDLINE_EXTRA, CONFIG_EDIT (sed script applied to tools/postern.cfg),
# EXPECT=(regex ...) all of which must appear, REJECT=(regex ...) none of which may, TIMEOUT, SMP.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
here=$top/tests/integration

run_case() {
    local name=$1 dir=$top/build/itest/$1
    local CMDLINE_EXTRA="" CONFIG_EDIT="" TIMEOUT=240 SMP=1
    local -a EXPECT=() REJECT=()
    # shellcheck source=/dev/null
    source "$here/cases/$name.case"
    REJECT+=("postern: PANIC")
    rm -rf "$dir" && mkdir -p "$dir"
    sed -e "s|^cmdline = .*|& $CMDLINE_EXTRA|" -e "${CONFIG_EDIT:-}" "$top/tools/postern.cfg" > "$dir/postern.cfg"
    "$top/tools/mkesp.sh" "$dir/esp.img" "$dir/postern.cfg" || { echo "FAIL: $name (could not build the ESP)"; return; }
    (
        source "$top/tools/qemu.sh"
        export SMP
        exec > "$dir/qemu.out" 2>&1
        qemu_postern "$dir/esp.img" "$dir/vars.fd" -serial "file:$dir/serial.log" -monitor none
    ) &
    local qemu=$! start=$SECONDS missing=""
    while :; do
        missing=""
        for re in "${EXPECT[@]}"; do
            grep -aqE -- "$re" "$dir/serial.log" 2>/dev/null || { missing="$re"; break; }
        done
        [ -z "$missing" ] && break
        if ! kill -0 $qemu 2>/dev/null; then break; fi
        if [ $((SECONDS - start)) -ge "$TIMEOUT" ]; then break; fi
        sleep 1
    done
    sleep 1 # let a line being written finish
    pkill -P $qemu 2>/dev/null; kill $qemu 2>/dev/null; wait $qemu 2>/dev/null
    local elapsed=$((SECONDS - start)) why=""
    [ -n "$missing" ] && why="missing /$missing/ after ${elapsed}s"
    for re in "${REJECT[@]}"; do
        if grep -aqE -- "$re" "$dir/serial.log" 2>/dev/null; then why="${why:+$why; }found /$re/"; fi
    done
    if [ -z "$why" ]; then
        echo "PASS: $name (${elapsed}s)"
    else
        echo "FAIL: $name ($why)"
        echo "---- last lines of build/itest/$name/serial.log"
        tail -n 30 "$dir/serial.log" 2>/dev/null | tr -d '\r' | sed 's/^/    /'
        echo "----"
    fi
}

if [ "${1:-}" = --one ]; then
    run_case "$2"
    exit 0
fi

cases=("$@")
[ ${#cases[@]} -eq 0 ] && cases=($(cd "$here/cases" && ls *.case | sed 's/\.case$//'))
results=$(printf '%s\n' "${cases[@]}" | xargs -P "${JOBS:-2}" -I{} "$0" --one {})
echo "$results"
pass=$(grep -c '^PASS: ' <<<"$results")
fail=$(grep -c '^FAIL: ' <<<"$results")
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
