#!/bin/sh
# With reboot=t on the command line, an emergency restart loads an empty IDT and executes int3:
# a triple fault, which the hypervisor must report and survive.
echo TRIPLEFAULT-NOW
echo 1 > /proc/sys/kernel/sysrq
echo b > /proc/sysrq-trigger
sleep 5
echo "FAIL triplefault (still running)"
