#!/bin/sh
# The guarded idle loop (docs/idle.md): HLT and MWAIT exits for the same idling done by gidle (the
# guarded module, christoized for `idle`) and by gidleplain (the same code as an ordinary module).
#   postern.idle=bound     (default) gidle holds `idle`: its HLTs/MWAITs run natively (far fewer
#                          exits); gidleplain's, run after it, exit as usual
#   postern.idle=unbound   the config grants gidle nothing: its HLTs/MWAITs exit as usual
#   postern.idle_n=N       idle instructions per run (default 200)
# Each run prints "IDLE-RESULT module op n hlt-exits mwait-exits all-exits" (the differences of
# HC_STATS_EXITS around it), then PASS/FAIL lines; it powers off so the hypervisor reports.
m=/lib/modules/postern
mode=bound n=200
for arg in $(cat /proc/cmdline); do
    case "$arg" in
        postern.idle=*) mode=${arg#postern.idle=} ;;
        postern.idle_n=*) n=${arg#postern.idle_n=} ;;
    esac
done
# run MODULE OP: idle n times through /proc/MODULE; sets dh, dm, da
run() {
    # shellcheck disable=SC2046 # hvprobe prints its counters as words: split on purpose
    set -- "$1" "$2" $(hvprobe exits)
    echo "$2 $n" > "/proc/$1" || { echo "FAIL idle-$1-$2-write"; dh=-1 dm=-1 da=-1; return; }
    # shellcheck disable=SC2046 # as above
    set -- "$@" $(hvprobe exits)
    dh=$((${10} - $4)) dm=$((${12} - $6)) da=$((${14} - $8))
    echo "IDLE-RESULT $1 $2 $n hlt-exits $dh mwait-exits $dm all-exits $da ($(cat /proc/$1))"
}
# expect NAME VALUE few|all: few = at most n/10 exits, all = at least 9n/10
expect() {
    if [ "$3" = few ] && [ "$2" -ge 0 ] && [ "$2" -le $((n / 10)) ]; then echo "PASS $1 ($2 of $n exited)"
    elif [ "$3" = all ] && [ "$2" -ge $((n * 9 / 10)) ]; then echo "PASS $1 ($2 of $n exited)"
    else echo "FAIL $1 ($2 of $n exited, expected $3)"; fi
}
insmod $m/gidle.ko && echo "PASS idle-insmod" || { echo "FAIL idle-insmod"; poweroff -f; }
insmod $m/gidleplain.ko || echo "FAIL idle-insmod-plain"
mwait=no
grep -qw monitor /proc/cpuinfo && mwait=yes
echo "IDLE-MODE $mode n=$n mwait=$mwait"
if [ "$mode" = bound ]; then
    run gidle hlt; expect idle-guarded-hlt-native $dh few
    run gidleplain hlt; expect idle-plain-hlt-exits $dh all
    if [ $mwait = yes ]; then
        run gidle mwait; expect idle-guarded-mwait-native $dm few
        run gidleplain mwait; expect idle-plain-mwait-exits $dm all
    fi
else
    run gidle hlt; expect idle-unbound-hlt-exits $dh all
    [ $mwait = yes ] && { run gidle mwait; expect idle-unbound-mwait-exits $dm all; }
fi
rmmod gidle && echo "PASS idle-rmmod" || echo "FAIL idle-rmmod"
rmmod gidleplain
echo "IDLE-DONE"
poweroff -f
