/*
 * The guest's INIT and startup IPIs (docs/events.md, "INIT and SIPI"; the policy is
 * hv/platform/apic_icr.h). The local APIC's interrupt command register is trapped for that
 * purpose only: the x2APIC ICR MSR (830h) by the MSR intercept, the xAPIC ICR by taking the APIC
 * page out of the nested map and completing each access to it on the real APIC (mmio_emul), so
 * every other register behaves as passed through.
 */
#ifndef POSTERN_APIC_TRAP_H
#define POSTERN_APIC_TRAP_H

#include "core/vcpu.h"
#include "core/vm.h"

/* After the nested map is built: the APIC page (IA32_APIC_BASE) leaves it. One call into the
 * nested-paging builder (vm_npt_unmap of that page), so it fits any way the map was built. */
void apic_trap_map(struct vm *vm);
/* After the vCPU is created: its x2APIC ICR and APIC-base writes exit. */
void apic_trap_attach_vcpu(struct vcpu *v);
/* A nested fault on the APIC page: completed on the real APIC (true), or not the APIC page. */
bool apic_trap_nested_fault(struct vcpu *v, gpa_t gpa, bool write);
/* The guest writes MSR 830h (x2APIC ICR) or 1Bh (IA32_APIC_BASE): true when the instruction is
 * done, false when it faulted or stopped the guest. */
bool apic_trap_icr_msr(struct vcpu *v, u64 value);
/* Refused INIT/SIPI writes since boot (the report and the attack table read the log). */
u64 apic_trap_refused(void);

#endif
