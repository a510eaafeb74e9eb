#!/bin/sh
# The MSR policy and the software-SMI port (docs/msr.md), driven by the untrusted kernel (gcpu.ko,
# through hvprobe): an MTRR (emulated: the guest reads back its value, the machine keeps its own),
# an MTRR type the CPU does not have (#GP), AMD's microcode loader (dropped), HWCR (filtered), SVM's
# TSC_RATIO (#GP), an APIC move (refused); then a vendor command and ACPI_ENABLE at port 0xB2.
hvprobe wrmsr 0x20e 0x80000006 || echo "FAIL msr (mtrr)"
hvprobe wrmsr 0x20e 0x80000002 || echo "FAIL msr (mtrr type 2)"
hvprobe wrmsr 0xc0010020 0x1000000 || echo "FAIL msr (microcode)"
hvprobe wrmsr 0x8b 0 || echo "FAIL msr (patch level)"
hvprobe hwcr ^0x10 || echo "FAIL msr (hwcr)"
hvprobe wrmsr 0xc0000104 0x100000000 || echo "FAIL msr (tsc ratio)"
hvprobe wrmsr 0x1b 0xfed00900 || echo "FAIL msr (apic base)"
dmesg | grep "gcpu: [hm]" # the module's lines (KERN_INFO: not on the console)
# QEMU's q35 FADT: SMI_CMD 0xB2, ACPI_ENABLE 2. A vendor-style command, then ACPI_ENABLE.
hvprobe outb 0xb2 0x42 || echo "FAIL msr (outb)"
hvprobe outb 0xb2 0x02 || echo "FAIL msr (outb)"
# what Linux made of CPUID: the hypervisor bit, no known hypervisor, the APIC mode
grep -q '^flags.* hypervisor' /proc/cpuinfo && echo "MSR-CPUID hypervisor flag set"
dmesg | grep -q "Hypervisor detected" && echo "MSR-CPUID $(dmesg | grep 'Hypervisor detected')" ||
    echo "MSR-CPUID no hypervisor detected line"
dmesg | grep -i "x2apic" | sed 's/^/MSR-X2APIC /'
grep -q '^flags.* x2apic' /proc/cpuinfo && echo "MSR-X2APIC cpuinfo has x2apic" || echo "MSR-X2APIC cpuinfo has no x2apic"
t0=$(cut -d' ' -f1 /proc/uptime); sleep 1; t1=$(cut -d' ' -f1 /proc/uptime)
echo "MSR-GUEST-ALIVE $t0 -> $t1 (the timer still ticks)"
