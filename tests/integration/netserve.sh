#!/usr/bin/env bash
# netserve.sh sink|source DIR — the host side of the network tests (docs/lab/network-tests.md).
# QEMU starts it for each guest connection to a guestfwd port (guestfwd=...-cmd:...): its stdin and
# stdout are that connection, so it needs no listening socket on this machine. Both services append
# one line per transfer to DIR/netserve.log, in the form the guest prints, which the harness compares:
#   NET-VERIFY NAME up|down bytes N sha256 H
#   sink    the guest sends "NAME\n" and data, then half-closes; reply "RECEIVED NAME N H"
#   source  the guest sends "NAME BYTES\n" (BYTES <= 64 MiB); reply "H BYTES\n" and BYTES random bytes
# NAME: [A-Za-z0-9_-], at most 40 characters. Anything else ends the connection with a "netserve:"
# line in the log and nothing recorded.
set -uo pipefail
mode=${1:-} dir=${2:-}
[ -d "$dir" ] || exit 2
exec 2>> "$dir/netserve.err" # stderr is the connection too: keep diagnostics off it
log=$dir/netserve.log
say() { echo "netserve: $mode: $*" >> "$log"; }
IFS= read -r line || { say "no request line"; exit 1; }
line=${line%$'\r'}
case "$mode" in
    sink)
        [[ $line =~ ^[A-Za-z0-9_-]{1,40}$ ]] || { say "bad name '${line:0:60}'"; exit 1; }
        name=$line
        data=$(mktemp "$dir/netserve-$name.XXXXXX")
        cat > "$data"
        n=$(stat -c %s "$data")
        h=$(sha256sum < "$data" | cut -c1-64)
        rm -f "$data"
        echo "NET-VERIFY $name up bytes $n sha256 $h" >> "$log"
        echo "RECEIVED $name $n $h"
        ;;
    source)
        [[ $line =~ ^([A-Za-z0-9_-]{1,40})\ ([0-9]{1,8})$ ]] && [ "${BASH_REMATCH[2]}" -le 67108864 ] ||
            { say "bad request '${line:0:60}'"; exit 1; }
        name=${BASH_REMATCH[1]} n=$((10#${BASH_REMATCH[2]}))
        data=$(mktemp "$dir/netserve-$name.XXXXXX")
        head -c "$n" /dev/urandom > "$data"
        h=$(sha256sum < "$data" | cut -c1-64)
        echo "NET-VERIFY $name down bytes $n sha256 $h" >> "$log"
        { echo "$h $n"; cat "$data"; }
        rm -f "$data"
        ;;
    *) say "unknown mode"; exit 2 ;;
esac
