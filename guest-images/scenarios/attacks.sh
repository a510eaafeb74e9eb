#!/bin/sh
# Attacks on a guarded module, each blocked and logged by the hypervisor, the guest going on.
m=/lib/modules/postern
check() { case "$line" in *"$2"*) echo "PASS $1" ;; *) echo "FAIL $1 ($line)" ;; esac; }

insmod $m/gevil.ko
# 1. A raise hypercall from an address no metadata lists (another module).
echo 1 > /sys/module/gevil/parameters/raise
line=$(dmesg | grep "gevil: unlisted border-in")
check attack-unlisted-site "privilege now 0"

# 2. Tampered module text: same name, same metadata, one byte of text changed in the .ko.
insmod $m/gtest-tampered.ko && line=$(cat /proc/gtest) || line="insmod failed"
echo "tampered gtest says: $line"
check attack-tampered-text "read=0 "
rmmod gtest

# 3. The genuine module; the kernel function it calls redirects its own return.
insmod $m/gtest.ko
line=$(cat /proc/gtest)
check attack-genuine-registers "read=1 "
echo evilcall > /proc/gtest
line=$(dmesg | grep "gevil: tampered return landed")
check attack-return-tamper-unprivileged "privilege 0"
line=$(dmesg | grep "gtest: evilcall returned")
check attack-return-tamper-genuine-path "returned 42, privileged after it: 1"

# 4. A write to the registered module's text.
text=0x$(cat /proc/gtest | sed -n 's/.*text=\([0-9a-f]*\).*/\1/p')
echo "$text" > /sys/module/gevil/parameters/write
line=$(dmesg | grep "gevil: write to guarded text")
check attack-text-write-blocked "byte unchanged"
line=$(cat /proc/gtest)
check attack-text-write-revokes "read=0 "
echo "attacks done; guest alive"
