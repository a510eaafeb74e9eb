/* See vcpu.h: what every layer does to a vCPU through the backend, in one place. */
#include "core/vcpu.h"
#include "core/vm.h"

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

struct pending_event vcpu_next_event(struct vcpu *v, struct event_queue *q, const struct event_exit *e,
                                     bool (*take_nmi)(void), bool (*take_mce)(void))
{
    struct event_exit with = *e;
    struct pending_event ev;

    /* Only where nothing else goes: a held exception is dropped once RIP moves, and this one must
     * not be. */
    if (e->interrupted.type == EVENT_NONE && e->handler.type == EVENT_NONE && !q->count && take_mce && take_mce()) {
        vcpu_inject_exception(v, VEC_MC, false, 0);
        with.handler.type = EVENT_EXCEPTION;
        with.handler.vector = VEC_MC;
    }
    ev = event_queue_next(q, &with);

    if (q->took_nmi && take_nmi()) {
        vcpu_inject_external(v, WAIT_NMI, e->rip);
        v->vm->nmis_injected++;
    }
    return ev;
}
