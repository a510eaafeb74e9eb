#!/bin/sh
# Twelve guarded modules in one boot (tests/integration/cases/many-modules.case): gtest and gtest1 ...
# gtest11 (gtest's source under other names, each with its own text and signed metadata) are
# loaded together; each registers, and each one's read callback holds the `test` privilege inside
# (read=1); nothing outside does. Then they unload, and one loads again (its view given back and
# taken anew). With postern.many=gidle on the command line (many-modules-no-view.case), gidle is
# loaded while all twelve are registered: under QEMU's 16 ASIDs it finds no nested-paging view
# left, so its registration is refused (it loads and runs unprivileged, its crossings suspicious);
# once the twelve unload, giving their views back, it registers.
m=/lib/modules/postern
names="gtest"
for i in 1 2 3 4 5 6 7 8 9 10 11; do names="$names gtest$i"; done
ko() { if [ "$1" = gtest ]; then echo "$m/gtest.ko"; else echo "$m/many/$1.ko"; fi; }
for n in $names; do
    if insmod "$(ko "$n")"; then echo "PASS many-insmod $n"; else echo "FAIL many-insmod $n"; fi
done
for n in $names; do
    line=$(cat "/proc/$n" 2>&1)
    case "$line" in
        *"init=1 read=1 "*) echo "PASS many-read $n: $line" ;;
        *) echo "FAIL many-read $n: $line" ;;
    esac
done
line=$(hvprobe hypercall 0x50530010)
case "$line" in *"rbx 0x0"*) echo "PASS many-outside-unprivileged" ;; *) echo "FAIL many-outside-unprivileged ($line)" ;; esac
gidle=no
grep -q "postern.many=gidle" /proc/cmdline && gidle=yes
# postern.many=keep: power off with the twelve registered (the end-of-run report's memory line then
# counts their views: docs/lab/platform-notes.md)
if grep -q "postern.many=keep" /proc/cmdline; then echo "MANY-KEPT"; poweroff -f; fi
if [ $gidle = yes ]; then
    insmod $m/gidle.ko && echo "PASS many-gidle-loads-unregistered"
    rmmod gidle
fi
for n in $names; do rmmod "$n" || echo "FAIL many-rmmod $n"; done
echo "PASS many-rmmod"
if [ $gidle = yes ]; then
    insmod $m/gidle.ko && echo "PASS many-gidle-loads-registered"
    rmmod gidle
fi
if insmod "$(ko gtest7)" && grep -q "read=1 " /proc/gtest7; then echo "PASS many-reload gtest7"; else echo "FAIL many-reload gtest7"; fi
rmmod gtest7
echo "MANY-DONE"
poweroff -f
