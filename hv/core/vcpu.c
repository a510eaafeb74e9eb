/* See vcpu.h: what every layer does to a vCPU through the backend, in one place. */
#include "core/vcpu.h"

static vcpu_event_hook_fn event_hook;

void vcpu_stop(struct vcpu *v, const char *reason)
{
    v->state = VCPU_STOPPED;
    v->stop_reason = reason;
}

void vcpu_set_event_hook(vcpu_event_hook_fn hook) { event_hook = hook; }

static void before_event(struct vcpu *v, u8 vector, u64 rip)
{
    if (event_hook)
        event_hook(v, vector, rip);
}

void vcpu_inject_exception(struct vcpu *v, u8 vector, bool has_error, u32 error)
{
    before_event(v, vector, v->regs[REG_RIP]);
    vcpu_ops->inject_exception(v, vector, has_error, error);
}

void vcpu_reinject_exception(struct vcpu *v, u8 vector, bool has_error, u32 error, u64 cr2)
{
    before_event(v, vector, v->regs[REG_RIP]);
    vcpu_ops->reinject_exception(v, vector, has_error, error, cr2);
}

void vcpu_inject_external(struct vcpu *v, int event, u64 return_rip)
{
    before_event(v, event == WAIT_NMI ? VEC_NMI : (u8)event, return_rip);
    if (event == WAIT_NMI)
        vcpu_ops->inject_nmi(v);
    else
        vcpu_ops->inject_interrupt(v, (u8)event);
}
