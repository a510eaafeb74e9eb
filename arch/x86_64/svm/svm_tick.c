/*
 * The host tick under SVM (vcpu_ops->set_host_tick, docs/console.md "The host tick"). AMD has no
 * preemption timer, and Postern leaves the local APIC, the I/O APIC and the interrupts to the
 * guest, so the tick is made of exits the guest causes anyway:
 *
 * - IF=1: every physical interrupt exits first (the INTR intercept, APM Vol. 2 §15.13.1), before
 *   it is acknowledged. That exit is the tick; the intercept is then lifted for one entry with
 *   the interrupt window armed (a virtual interrupt nobody receives, VINTR intercepted, as border
 *   control's window), so the guest takes its interrupt natively at the VMRUN and the window's
 *   exit, after its handler returns to IF=1, re-arms the intercept. Two exits per guest interrupt;
 *   a busy Linux guest has at least its timer's (HZ), and on COM1 the real UART's receive
 *   interrupt is one of them.
 * - IF=0: with V_INTR_MASKING clear the guest's IF holds physical interrupts too, so none can
 *   exit. What a guest does while it waits with IF=0 is a PAUSE loop (Linux's spinlocks, its
 *   delay loop, the panic loop's mdelay: Linux's panic loop runs with IF=1 but its timer may be
 *   gone): PAUSE is intercepted, with the CPU's pause filter an exit after PAUSE_FILTER_COUNT of
 *   them (§15.14.4), without it (QEMU's TCG) each one. A loop with IF=0 and no PAUSE still runs
 *   without exits: only an NMI source could stop it.
 *
 * While border control watches interrupts (a privileged vCPU) its own intercept is the tick.
 */
#include "arch/x86_64/svm/svm.h"
#include "arch/x86_64/svm/vmcb.h"
#include "arch/x86_64/cpu.h"
#include "core/vcpu.h"
#include "lib/log.h"

#define SVM_FEAT_PAUSE_FILTER BIT(10) /* CPUID 8000_000A EDX */
#define PAUSE_FILTER_COUNT    10000   /* PAUSEs (tens to a few hundred cycles each) before an exit */

static bool pause_filter;

static void tick(struct vcpu *v)
{
    v->host_tick = true;
    v->host_ticks++;
}

void svm_set_host_tick(struct vcpu *v, u64 period_tsc)
{
    struct svm_vcpu *s = to_svm(v);

    s->tick = period_tsc != 0;
    s->tick_window = false;
    pause_filter = cpuid(0x8000000au, 0).edx & SVM_FEAT_PAUSE_FILTER;
    s->vmcb->control.pause_filter_count = pause_filter ? PAUSE_FILTER_COUNT : 0;
    s->vmcb->control.pause_filter_threshold = 0;
    if (s->tick)
        LOG("svm: host tick from the guest's interrupts (INTR intercept) and its PAUSE loops (%s)",
            pause_filter ? "pause filter: an exit every 10000" : "no pause filter: an exit at each");
    svm_apply_intercepts(v);
}

void svm_tick_intercepts(struct vcpu *v, u32 *misc1, u64 *vintr)
{
    struct svm_vcpu *s = to_svm(v);

    if (!s->tick || (s->border_watch & WATCH_INTERRUPTS))
        return; /* off, or border control's INTR intercept is on */
    if (!s->tick_window) {
        *misc1 |= INTERCEPT_INTR;
        return;
    }
    *misc1 |= INTERCEPT_VINTR;
    *vintr |= VINTR_V_IRQ | VINTR_V_INTR_PRIO | VINTR_V_IGN_TPR;
    if (svm_caps.vgif)
        *vintr |= VINTR_V_GIF | VINTR_V_GIF_ENABLE;
}

void svm_tick_before_entry(struct vcpu *v)
{
    struct svm_vcpu *s = to_svm(v);
    struct vmcb_control *c = &s->vmcb->control;

    if (s->tick)
        c->intercept_misc1 |= INTERCEPT_PAUSE;
    else
        c->intercept_misc1 &= ~(u32)INTERCEPT_PAUSE;
}

bool svm_tick_intr_exit(struct vcpu *v)
{
    struct svm_vcpu *s = to_svm(v);

    if (!s->tick || (s->border_watch & WATCH_INTERRUPTS))
        return false;
    tick(v);
    s->tick_window = true; /* the interrupt goes to the guest at the next VMRUN */
    svm_apply_intercepts(v);
    return true;
}

bool svm_tick_vintr_exit(struct vcpu *v)
{
    struct svm_vcpu *s = to_svm(v);

    if (!s->tick_window)
        return false;
    s->tick_window = false;
    svm_apply_intercepts(v);                      /* the INTR intercept again */
    return !(s->border_watch & WATCH_IRQ_WINDOW); /* border control's window too: its handler runs */
}

void svm_tick_pause_exit(struct vcpu *v)
{
    tick(v);
    svm_skip_insn(v, 2); /* F3 90 */
}
