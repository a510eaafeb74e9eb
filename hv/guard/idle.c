/* The `idle` privilege component (see idle.h, docs/idle.md). */
#include "guard/idle.h"
#include "lib/lib.h"
#include "lib/log.h"
#include "core/vcpu.h"
#include "core/vm.h"

#define REFUSALS_PRINTED 16

static struct idle_state {
    struct vm *vm;
    struct idle_stats stats;
} idle_state;

/* Native HLT/MWAIT hands the core to the guest until the next interrupt: only a vCPU that has the
 * core to itself may have it, or another vCPU (or the hypervisor's work for it) would wait. */
static void idle_raise(u32 vcpu_id, void *state)
{
    struct idle_state *s = state;
    struct vcpu *v = vm_vcpu(s->vm, vcpu_id);

    if (!vm_vcpu_owns_core(s->vm, v)) {
        LOG_RATELIMITED(s->stats.refused, REFUSALS_PRINTED,
                        "idle: vcpu%u does not have its physical CPU to itself (%s): HLT and MWAIT stay intercepted",
                        vcpu_id,
                        !v           ? "no such vCPU"
                        : !v->pinned ? "not pinned"
                                     : "shared with another vCPU");
        return;
    }
    vcpu_ops->set_idle_intercepts(v, false);
    s->stats.lifted_mask |= 1u << vcpu_id;
    s->stats.lifts++;
}

static void idle_lower(u32 vcpu_id, void *state)
{
    struct idle_state *s = state;
    struct vcpu *v = vm_vcpu(s->vm, vcpu_id);

    /* Only a raise that lifted them has anything to restore (a refused one left them on). */
    if (!(s->stats.lifted_mask & (1u << vcpu_id)) || !v)
        return;
    vcpu_ops->set_idle_intercepts(v, true);
    s->stats.lifted_mask &= ~(1u << vcpu_id);
    s->stats.restores++;
}

const struct privilege_ops privilege_idle_ops = { .raise = idle_raise, .lower = idle_lower };

int privilege_idle_register(struct privilege_registry *r, struct vm *vm)
{
    idle_state.vm = vm;
    return privilege_register(r, PRIV_IDLE_NAME, &privilege_idle_ops, &idle_state);
}

void privilege_idle_stats(struct idle_stats *out) { *out = idle_state.stats; }

void privilege_idle_report(void)
{
    const struct idle_stats *st = &idle_state.stats;
    if (st->lifts || st->refused)
        LOG("idle: intercepts lifted %llu, restored %llu, refused %llu (vCPU without a core of its own)",
            (unsigned long long)st->lifts, (unsigned long long)st->restores, (unsigned long long)st->refused);
}

void privilege_idle_reset(void) { memset(&idle_state.stats, 0, sizeof(idle_state.stats)); }
