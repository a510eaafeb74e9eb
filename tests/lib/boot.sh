# shellcheck shell=bash
# Sourced by the bench scripts (tests/bench/*.sh): wait on one QEMU boot (started in the background
# with tools/qemu.sh's qemu_postern / qemu_direct, its serial port a log file) and stop it.
#   boot_wait LOG PID UNTIL [TIMEOUT_S] [T0]
#       Polls LOG every 50 ms until a line matches the extended regex UNTIL (returns 0), or the log
#       shows that the boot failed (BOOT_FAIL_RE: Postern refused to start the guest or panicked,
#       its loader gave up, OVMF could not start the boot image, the guest kernel panicked), QEMU
#       (PID) is gone without UNTIL, or TIMEOUT_S (default 300) pass (returns 1). Sets BOOT_STATUS
#       (ok, failed, exited or timeout), BOOT_SECONDS (seconds since T0, a `date +%s.%N` taken
#       before QEMU started; default: the call) and BOOT_WHY (the failure line, or a sentence).
#   boot_stop PID      stop QEMU (a TERM to the background job ends QEMU: tools/qemu.sh) and reap it
#   boot_expect LOG PID UNTIL [TIMEOUT_S] [T0]
#       boot_wait, and if it fails: stop QEMU, print why on stderr and exit 1. The bench fails loudly
#       instead of reporting figures from a boot that never happened.

# What Postern prints when it will not run the guest (hv/main.c refuse_to_start, hv/panic.c), what
# its loader prints before returning to the firmware (boot/main.c), OVMF's BDS when the boot image
# cannot be loaded or returns an error, and Linux's panic.
BOOT_FAIL_RE='postern: cannot start|postern: hypervisor halted|postern: PANIC|BdsDxe: failed to (load|start)|Kernel panic - not syncing'

boot_wait() {
    local log=$1 pid=$2 until=$3 timeout=${4:-300} t0=${5:-}
    [ -n "$t0" ] || t0=$(date +%s.%N)
    local deadline=$((${t0%.*} + timeout))
    BOOT_STATUS='' BOOT_WHY=''
    while :; do
        if grep -aqE "$until" "$log" 2>/dev/null; then
            BOOT_STATUS=ok
        elif grep -aqE "$BOOT_FAIL_RE" "$log" 2>/dev/null; then
            BOOT_STATUS=failed BOOT_WHY=$(grep -aE -m 1 "$BOOT_FAIL_RE" "$log" | tr -d '\r')
        elif ! kill -0 "$pid" 2>/dev/null; then
            # QEMU is gone: it may have written UNTIL on its way out
            if grep -aqE "$until" "$log" 2>/dev/null; then BOOT_STATUS=ok
            else BOOT_STATUS=exited BOOT_WHY="QEMU exited before '$until' appeared"; fi
        elif [ "$EPOCHSECONDS" -ge "$deadline" ]; then
            BOOT_STATUS=timeout BOOT_WHY="no '$until' after ${timeout} s"
        fi
        [ -z "$BOOT_STATUS" ] || break
        sleep 0.05
    done
    BOOT_SECONDS=$(awk -v n="$(date +%s.%N)" -v t="$t0" 'BEGIN { printf "%.2f\n", n - t }')
    [ "$BOOT_STATUS" = ok ]
}

boot_stop() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

boot_expect() {
    local log=$1 pid=$2 until=$3
    boot_wait "$@" && return 0
    boot_stop "$pid"
    echo "bench: the boot never showed '$until' ($BOOT_STATUS after ${BOOT_SECONDS}s, log $log):" >&2
    echo "  $BOOT_WHY" >&2
    exit 1
}
