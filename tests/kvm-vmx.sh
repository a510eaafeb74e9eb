#!/usr/bin/env bash
# The VT-x backend under nested KVM: the QEMU integration cases that boot the guest, run a guarded
# module and drive the guarded NIC, with -accel kvm -cpu host on an Intel machine whose KVM offers
# nested VMX (Postern then picks its VT-x backend by the CPU vendor). Where that is missing it
# prints one "skipped: kvm-vmx: <reason>" line per case and passes nothing.
#   tests/kvm-vmx.sh [CASE...]   (default: boot-shell guarded-module guarded-e1000 nic-net-intel)
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cases=("$@"); [ ${#cases[@]} -gt 0 ] || cases=(boot-shell guarded-module guarded-e1000 nic-net-intel)

skip() { for c in "${cases[@]}"; do echo "skipped: kvm-vmx/$c: $1"; done; exit 0; }
[ -e /dev/kvm ] || skip "no /dev/kvm on this machine"
[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "/dev/kvm is not usable by $(id -un)"
grep -qw vmx /proc/cpuinfo || skip "this host CPU has no VT-x (vmx flag)"
nested=$(cat /sys/module/kvm_intel/parameters/nested 2>/dev/null || echo N)
case $nested in Y|y|1) ;; *) skip "kvm_intel's nested VMX is off (modprobe kvm_intel nested=1)" ;; esac

QEMU_ACCEL=kvm QEMU_CPU=host JOBS=${JOBS:-1} "$top/tests/integration/run.sh" "${cases[@]}"
