/*
 * The `idle` privilege component: the guarded idle loop of the ICAC 2014 paper (docs/idle.md).
 * While a vCPU holds `idle` — it is executing a guarded module the administrator bound to it,
 * entered through a validated border crossing — its HLT, MONITOR and MWAIT run natively instead
 * of exiting. Only where the hypervisor knows the vCPU has its physical core to itself
 * (vm_vcpu_owns_core): otherwise the raise is refused, logged, and the instructions keep exiting.
 * Any lower (a border-out of any kind, a suspicious event, deinit, revocation) restores the
 * intercepts before the vCPU runs again.
 */
#ifndef POSTERN_IDLE_H
#define POSTERN_IDLE_H

#include "guard/privilege.h"

#define PRIV_IDLE_NAME "idle"

struct vm;

struct idle_stats {
    u32 lifted_mask; /* bit v: vCPU v runs HLT/MONITOR/MWAIT natively now */
    u64 lifts;       /* raises that lifted the intercepts */
    u64 restores;    /* lowers that restored them */
    u64 refused;     /* raises refused: the vCPU does not have its core to itself */
};

extern const struct privilege_ops privilege_idle_ops;
/* Registers "idle" in r for the vCPUs of vm; returns the handle or a PRIV_ error. */
int privilege_idle_register(struct privilege_registry *r, struct vm *vm);
void privilege_idle_stats(struct idle_stats *out);
/* One log line with the counters (when the guest stops). */
void privilege_idle_report(void);
void privilege_idle_reset(void);

#endif
