/*
 * Completing a guest access to device memory the hypervisor answers itself (a guarded device's
 * BAR while the vCPU is unprivileged: reads give zero, writes are dropped). The nested page fault
 * names only the address: the instruction is fetched at the guest's RIP and decoded
 * (hv/core/insn_decode.h), the register updated for a read, and RIP advanced past it.
 */
#ifndef POSTERN_MMIO_EMUL_H
#define POSTERN_MMIO_EMUL_H

#include "core/insn_decode.h"
#include "core/vcpu.h"

/* Returns true when the instruction was decoded and completed (*insn describes it); false (with
 * *why set) when it cannot be fetched or is not a plain MOV form: the caller injects #GP. */
bool mmio_complete(struct vcpu *v, bool write, u64 read_value, struct mmio_insn *insn, const char **why);
/* The same in two steps, for an emulation that must know the access's size and value before it
 * answers (ECAM, a sub-page BAR forwarded to the device): decode only (nothing changes in the
 * vCPU), then finish (the register for a read, RIP past the instruction). The write's value is
 * insn_mmio_write_value(insn, v->regs). */
bool mmio_decode(struct vcpu *v, bool write, struct mmio_insn *insn, const char **why);
void mmio_finish(struct vcpu *v, const struct mmio_insn *insn, u64 read_value);

#endif
