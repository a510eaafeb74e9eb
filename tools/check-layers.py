#!/usr/bin/env python3
"""check-layers.py: no include in the hypervisor reaches up a layer (docs/architecture.md, "Layers").

The hypervisor is built in layers that only look down (lowest first):
  lib       hv/lib, the x86 instruction headers (arch/x86_64/cpu.h, exceptions.h), the host UART and framebuffer (drivers/uart, drivers/fb)
  core      hv/core, host PCI access (drivers/pci), the hypervisor's IDT, exit counts, backend choice
  crypto, platform   hv/crypto and hv/platform: peers, independent of each other
  iommu     drivers/iommu (its tables are core's nested-paging builder, its ACPI tables platform's)
  guard     hv/guard
  pci       hv/pci (the guest's view of PCI, the guarded device)
  console   hv/console
  top       hv/main.c, hv/exits.c (the exit router) and the SVM and VT-x backends, which implement
            core's vcpu_ops and dispatch their exits to the router
A file may include its own layer and any layer below; an include from a higher layer, or from a
peer at the same rank, is a fault.
Prints one line per fault and "PASS: layers/no-upward-include" or "FAIL: ..."; exit 1 on a fault.
"""
import os
import re
import subprocess
import sys

RANK = {'lib': 0, 'core': 1, 'crypto': 2, 'platform': 2, 'iommu': 3, 'guard': 4, 'pci': 5, 'console': 6,
        'top': 7}
ARCH_LIB = {'arch/x86_64/cpu.h', 'arch/x86_64/exceptions.h'}


def layer_of(path):
    parts = path.split('/')
    if parts[0] == 'hv':
        return 'top' if len(parts) == 2 else parts[1]
    if parts[0] == 'drivers':
        return {'uart': 'lib', 'fb': 'lib', 'pci': 'core', 'iommu': 'iommu'}.get(parts[1])
    if parts[0] == 'arch':
        if len(parts) == 4:
            return 'top'  # arch/x86_64/{svm,vmx}/
        return 'lib' if path in ARCH_LIB else 'core'
    return None


def resolve(inc, src):
    for cand in (os.path.join(os.path.dirname(src), inc), inc, os.path.join('hv', inc)):
        cand = os.path.normpath(cand)
        if os.path.isfile(cand):
            return cand
    return None


def main():
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    os.chdir(top)
    files = subprocess.run(['git', 'ls-files', 'hv', 'drivers', 'arch'], capture_output=True, text=True,
                           check=True).stdout.split()
    faults = []
    for src in files:
        if not src.endswith(('.c', '.h')):
            continue
        mine = layer_of(src)
        with open(src, encoding='utf-8') as f:
            for n, line in enumerate(f, 1):
                m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
                if not m:
                    continue
                tgt = resolve(m.group(1), src)
                theirs = layer_of(tgt) if tgt else None
                if not theirs or theirs == mine:
                    continue
                if RANK[theirs] >= RANK[mine]:
                    faults.append(f'{src}:{n}: {mine} includes {m.group(1)} ({theirs})')
    if faults:
        print('FAIL: layers/no-upward-include (an include reaches up a layer: docs/architecture.md, "Layers")')
        for f in faults:
            print('    ' + f)
        return 1
    print('PASS: layers/no-upward-include')
    return 0


if __name__ == '__main__':
    sys.exit(main())
