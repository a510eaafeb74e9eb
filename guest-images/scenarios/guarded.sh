#!/bin/sh
# A guarded module end to end: it registers, holds the `test` privilege inside its callbacks (also
# after calling out, in a nested callback, and after timer interrupts), nothing outside it does,
# and it unloads.
m=/lib/modules/postern
check() { # NAME CONDITION-TEXT: PASS/FAIL by whether $line contains the text
    case "$line" in *"$2"*) echo "PASS $1" ;; *) echo "FAIL $1 ($line)" ;; esac
}
insmod $m/gtest.ko || { echo "FAIL guarded-insmod"; exit 0; }
echo "PASS guarded-insmod"
line=$(cat /proc/gtest)
echo "gtest says: $line"
check guarded-init-privileged "init=1 "
check guarded-callback-privileged "read=1 "
check guarded-after-call-out "after_printk=1 "
check guarded-nested-callback "nested_cmp=1 "
check guarded-kernel-sort-worked "sorted=1 "
check guarded-after-interrupts "after_spin=1 "
line=$(hvprobe hypercall 0x50530010)
check outside-unprivileged "rbx 0x0"
rmmod gtest && echo "PASS guarded-rmmod" || echo "FAIL guarded-rmmod"
line=$(dmesg | grep "gtest: unloaded")
check guarded-exit-privileged "privileged at exit: 1"
line=$(cat /proc/gtest 2>&1)
check guarded-gone "No such file"
# Power off so the hypervisor prints its crossing counters (the test reads them).
echo "GUARDED-DONE"
poweroff -f
