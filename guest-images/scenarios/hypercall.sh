#!/bin/sh
# The hypercall ABI from user space: the version call answers, an unknown number gets -1
# (HC_ENOSYS) and the guest goes on.
v=$(hvprobe hypercall 0x50530000)
echo "version call: $v"
case "$v" in "rax 0 rbx 0x1") echo "PASS hypercall-version" ;; *) echo "FAIL hypercall-version" ;; esac
u=$(hvprobe hypercall 0x50539999)
echo "unknown call: $u"
case "$u" in "rax -1 "*) echo "PASS hypercall-unknown" ;; *) echo "FAIL hypercall-unknown" ;; esac
