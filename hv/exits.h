/*
 * Arch-neutral exit handlers. A backend's exit table decodes its exit into these calls; a handler
 * returning true means "the instruction is done: move RIP past it". Guest registers are in
 * v->regs (synced by the backend around the call).
 */
#ifndef POSTERN_EXITS_H
#define POSTERN_EXITS_H

#include "core/vcpu.h"
#include "guard/border.h" /* exit_watched_*: border control's own intercepts */

bool exit_cpuid(struct vcpu *v);
bool exit_msr(struct vcpu *v, bool write);
bool exit_hypercall(struct vcpu *v);
/* Non-string port I/O of 1, 2 or 4 bytes; the value travels in RAX. */
bool exit_io(struct vcpu *v, u16 port, unsigned size, bool in);
/* A guest-physical access the nested page tables refused. */
void exit_nested_fault(struct vcpu *v, gpa_t gpa, bool write, bool fetch);
bool exit_hlt(struct vcpu *v);
/* MONITOR (mwait false) or MWAIT by a vCPU that runs them intercepted: done as a NOP. */
bool exit_monitor_mwait(struct vcpu *v, bool mwait);
void exit_triple_fault(struct vcpu *v);
/* An instruction the guest may not use (SVM/VMX instructions): #UD, as on a CPU without them. */
void exit_forbidden_insn(struct vcpu *v, const char *name);
/* Anything the hypervisor did not ask for, or a VM entry the CPU refused: logged, guest stopped. */
void exit_unexpected(struct vcpu *v, const char *what, u64 code, u64 info1, u64 info2);

/* Ports the hypervisor watches: ACPI sleep control (guest power-off) and the reset registers. */
void exits_watch_ports(struct vcpu *v, u16 pm1a_cnt, u16 pm1b_cnt);

#endif
