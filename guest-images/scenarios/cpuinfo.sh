#!/bin/sh
# The guest must not see SVM/VMX, and sees exactly one CPU whatever the machine has.
flags=$(grep -m1 '^flags' /proc/cpuinfo)
echo "$flags"
if echo "$flags" | grep -qw -e svm -e vmx; then echo "FAIL no-svm-flag"; else echo "PASS no-svm-flag"; fi
if echo "$flags" | grep -qw hypervisor; then echo "PASS hypervisor-flag"; else echo "FAIL hypervisor-flag"; fi
n=$(grep -c '^processor' /proc/cpuinfo)
echo "processors: $n"
if [ "$n" = 1 ]; then echo "PASS one-cpu"; else echo "FAIL one-cpu"; fi
