/* RDMSR/WRMSR exits carried out by the MSR policy (hv/core/msr_policy.h, docs/msr.md). */
#ifndef POSTERN_EXITS_MSR_H
#define POSTERN_EXITS_MSR_H

#include "core/vcpu.h"

/* The guest's RDMSR (write false) or WRMSR at v's RIP, ECX the MSR, EDX:EAX the value: true when it
 * is done (the instruction is to be skipped), false when a #GP was injected instead. */
bool exits_msr(struct vcpu *v, bool write);

#endif
