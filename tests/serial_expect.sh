# shellcheck shell=bash
# Sourced by the harnesses that wait for a serial log (tests/integration/run.sh, tests/bochs/run.sh).

# first_missing LOG RE...: print the first regex that does not appear after the previous one's match
# (same line allowed); print nothing when all appear in order.
first_missing() {
    local log=$1 from=1 n re
    shift
    for re in "$@"; do
        n=$(tail -n +"$from" "$log" 2>/dev/null | grep -anE -m1 -- "$re" | cut -d: -f1) || true
        [ -n "$n" ] || { printf '%s' "$re"; return; }
        from=$((from + n - 1))
    done
}
