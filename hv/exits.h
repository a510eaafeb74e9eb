/*
 * Arch-neutral exit handlers. A backend's exit table points at them, directly where the exit
 * needs no decoding (CPUID, HLT, ...), through a small decoder where it does (an I/O exit's port).
 * A handler finishes the instruction itself when its emulation is done (vcpu_ops->skip_insn);
 * otherwise RIP stays where it is. Guest registers are in v->regs (synced by the backend around
 * the call).
 */
#ifndef POSTERN_EXITS_H
#define POSTERN_EXITS_H

#include "core/vcpu.h"
#include "guard/border.h" /* exit_watched_*: border control's own intercepts */

void exit_cpuid(struct vcpu *v);
void exit_rdmsr(struct vcpu *v);
void exit_wrmsr(struct vcpu *v);
void exit_hypercall(struct vcpu *v);
/* Non-string port I/O of 1, 2 or 4 bytes; the value travels in RAX. */
void exit_io(struct vcpu *v, u16 port, unsigned size, bool in);
/* A guest-physical access the nested page tables refused. */
void exit_nested_fault(struct vcpu *v, gpa_t gpa, bool write, bool fetch);
void exit_hlt(struct vcpu *v);
/* MONITOR or MWAIT by a vCPU that runs them intercepted: done as a NOP. */
void exit_monitor(struct vcpu *v);
void exit_mwait(struct vcpu *v);
void exit_triple_fault(struct vcpu *v);
void exit_init(struct vcpu *v);
/* #MC in guest mode: reported on the serial line, then delivered to the guest. */
void exit_machine_check(struct vcpu *v);
/* INVD: done as WBINVD (the hypervisor's dirty cache lines must not be thrown away). */
void exit_invd(struct vcpu *v);
/* WBINVD: done (SVM intercepts it to catch an INVD that QEMU's TCG reports as one). */
void exit_wbinvd(struct vcpu *v);
/* A guest MOV to CR4 (old -> value): true when the CPUID policy (core/cpuid_policy.h) allows every
 * bit; else #GP is injected, as on a CPU without the feature, and the refusal logged. */
bool exit_cr4_check(struct vcpu *v, u64 old, u64 value);
/* XSETBV: checked against the CPUID policy (#GP where the instruction would raise it), then done. */
void exit_xsetbv(struct vcpu *v);
/* An instruction the guest may not use (SVM/VMX instructions): #UD, as on a CPU without them. */
void exit_forbidden_insn(struct vcpu *v, const char *name);
/* Anything the hypervisor did not ask for, or a VM entry the CPU refused: logged, guest stopped. */
void exit_unexpected(struct vcpu *v, const char *what, u64 code, u64 info1, u64 info2);

/* Set by the SVM backend when it keeps DC_CFG bit 47 (erratum 383) against guest writes. */
extern bool exits_dc_cfg_guarded;

/* Ports the hypervisor watches: ACPI sleep control (guest power-off) and the reset registers. */
void exits_watch_ports(struct vcpu *v, u16 pm1a_cnt, u16 pm1b_cnt);
/* Decides, from the APIC mode the firmware left, whether CPUID offers KVM-compatible leaves. */
void exits_cpuid_setup(void);
/* The software-SMI port 0xB2 and the FADT's SMI_CMD: only value-only ACPI commands pass (docs/msr.md). */
struct acpi_guest_info;
void exits_watch_smi_port(struct vcpu *v, const struct acpi_guest_info *acpi);

#endif
