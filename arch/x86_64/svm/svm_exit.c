/*
 * VMRUN and the SVM exit table (AMD APM Vol. 2 Appendix C for the codes). The table points at the
 * arch-neutral handler in hv/exits.c where the exit needs no decoding, else at a small decoder
 * here that reads what SVM reports and calls it.
 *
 * QEMU's TCG offers no NRIP save: instruction lengths are known for the instructions we
 * intercept (none of them takes prefixes that Linux emits), and IOIO gives the next RIP itself.
 */
#include "arch/x86_64/svm/svm.h"
#include "arch/x86_64/exceptions.h"
#include "exits.h"
#include "core/exit_trace.h"
#include "lib/log.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/traps.h"

typedef void (*svm_exit_fn)(struct vcpu *v);

/* vcpu_ops->skip_insn: NRIP where the CPU saves it, the I/O exit's own next RIP (§15.10.2:
 * EXITINFO2), else the length the handler knows. */
void svm_skip_insn(struct vcpu *v, unsigned len)
{
    struct svm_vcpu *s = to_svm(v);
    struct vmcb *vmcb = s->vmcb;

    if (s->nrip_save && vmcb->control.next_rip)
        v->regs[REG_RIP] = vmcb->control.next_rip;
    else if (vmcb->control.exit_code == SVM_EXIT_IOIO)
        v->regs[REG_RIP] = vmcb->control.exit_info2;
    else
        v->regs[REG_RIP] += len;
    vmcb->control.interrupt_shadow = 0; /* a skipped STI;HLT must not leave the shadow behind */
}

/* RDMSR and WRMSR share one exit code; EXITINFO1 tells them apart (§15.11). */
static void on_msr(struct vcpu *v)
{
    if (to_svm(v)->vmcb->control.exit_info1 == 1)
        exit_wrmsr(v);
    else
        exit_rdmsr(v);
}

static void on_ioio(struct vcpu *v)
{
    struct vmcb *vmcb = to_svm(v)->vmcb;
    u64 info = vmcb->control.exit_info1;
    u16 port = (u16)(info >> IOIO_PORT_SHIFT);
    unsigned size = (info & IOIO_SZ32) ? 4 : (info & IOIO_SZ16) ? 2 : 1;

    if (info & (IOIO_STR | IOIO_REP)) {
        /* Only single ports we watch exit; string I/O to them is not something Linux does. */
        exit_unexpected(v, "string I/O on a watched port", SVM_EXIT_IOIO, info, vmcb->control.exit_info2);
        return;
    }
    exit_io(v, port, size, info & IOIO_TYPE_IN);
}

static void on_npf(struct vcpu *v)
{
    struct vmcb *vmcb = to_svm(v)->vmcb;
    u64 err = vmcb->control.exit_info1;
    exit_nested_fault(v, vmcb->control.exit_info2, err & NPF_WRITE, err & NPF_FETCH);
}

/* #MC always; the others only while border control watches a privileged vCPU. The exception has
 * not been delivered. */
static void on_exception(struct vcpu *v)
{
    struct vmcb *vmcb = to_svm(v)->vmcb;
    u8 vector = (u8)(vmcb->control.exit_code - SVM_EXIT_EXCP_BASE);

    if (vector == VEC_MC) {
        exit_machine_check(v);
        return;
    }
    exit_watched_exception(v, vector, exception_has_error_code(vector), (u32)vmcb->control.exit_info1,
                           vmcb->control.exit_info2);
}

/* The interrupt stays pending and is delivered at the next VMRUN once the watch is off. */
static void on_intr(struct vcpu *v)
{
    if (!svm_tick_intr_exit(v)) /* the host tick's, or border control's watch */
        exit_watched_interrupt(v, false);
}

/* NMIs always exit (svm_apply_intercepts). The NMI stays pending in the CPU and is taken by the
 * hypervisor's IDT at the STGI after #VMEXIT, before this runs (traps.c counts it); the event path
 * injects it (svm_complete_events). A privileged vCPU crosses its border first. */
static void on_nmi(struct vcpu *v)
{
    if (to_svm(v)->border_watch & WATCH_INTERRUPTS)
        exit_watched_interrupt(v, true);
}

/* §15.9: taken before the IRET executes. Either the end of an NMI handler (the guest may take NMIs
 * again once it has run) or border control's watch, or both. */
static void on_iret(struct vcpu *v)
{
    struct svm_vcpu *s = to_svm(v);

    nmi_track_iret(&s->nmi, v->regs[REG_RIP]);
    if (s->border_watch & WATCH_IRET)
        exit_watched_iret(v);
}

/* The interrupt window: the host tick's, border control's, or the one a waiting event asked for
 * (nothing to do for that one: svm_complete_events delivers it). */
static void on_vintr(struct vcpu *v)
{
    if (svm_tick_vintr_exit(v))
        return;
    if (to_svm(v)->border_watch & WATCH_IRQ_WINDOW)
        exit_irq_window(v);
}

static void on_vmrun(struct vcpu *v) { exit_forbidden_insn(v, "VMRUN"); }
static void on_vmload(struct vcpu *v) { exit_forbidden_insn(v, "VMLOAD"); }
static void on_vmsave(struct vcpu *v) { exit_forbidden_insn(v, "VMSAVE"); }
static void on_stgi(struct vcpu *v) { exit_forbidden_insn(v, "STGI"); }
static void on_clgi(struct vcpu *v) { exit_forbidden_insn(v, "CLGI"); }
static void on_skinit(struct vcpu *v) { exit_forbidden_insn(v, "SKINIT"); }
static void on_invlpga(struct vcpu *v) { exit_forbidden_insn(v, "INVLPGA"); }

struct svm_exit_entry {
    svm_exit_fn fn;
    const char *name;
};

static const struct svm_exit_entry svm_exit_table[SVM_EXIT_TABLE_SIZE] = {
    [SVM_EXIT_EXCP_BASE... SVM_EXIT_EXCP_LAST] = { on_exception, "exception" },
    [SVM_EXIT_INTR] = { on_intr, "intr" },
    [SVM_EXIT_NMI] = { on_nmi, "nmi" },
    [SVM_EXIT_IRET] = { on_iret, "iret" },    /* §15.9: taken before the IRET executes */
    [SVM_EXIT_VINTR] = { on_vintr, "vintr" }, /* the window border control, an event or the host tick asked for */
    [SVM_EXIT_PAUSE] = { svm_tick_pause_exit, "pause" },
    [SVM_EXIT_CPUID] = { exit_cpuid, "cpuid" },
    [SVM_EXIT_CR4_WRITE] = { svm_on_cr4_write, "cr4-write" }, /* checked against the CPUID policy */
    [SVM_EXIT_XSETBV] = { exit_xsetbv, "xsetbv" },
    [SVM_EXIT_INVD] = { exit_invd, "invd" },
    [SVM_EXIT_WBINVD] = { exit_wbinvd, "wbinvd" },
    [SVM_EXIT_MSR] = { on_msr, "msr" },
    [SVM_EXIT_VMMCALL] = { exit_hypercall, "vmmcall" },
    [SVM_EXIT_HLT] = { exit_hlt, "hlt" },
    [SVM_EXIT_MONITOR] = { exit_monitor, "monitor" },
    [SVM_EXIT_MWAIT] = { exit_mwait, "mwait" },
    [SVM_EXIT_MWAIT_ARMED] = { exit_mwait, "mwait-armed" },
    [SVM_EXIT_IOIO] = { on_ioio, "ioio" },
    [SVM_EXIT_NPF] = { on_npf, "npf" },
    [SVM_EXIT_SHUTDOWN] = { exit_triple_fault, "shutdown" },
    [SVM_EXIT_INIT] = { exit_init, "init" },
    [SVM_EXIT_VMRUN] = { on_vmrun, "vmrun" },
    [SVM_EXIT_VMLOAD] = { on_vmload, "vmload" },
    [SVM_EXIT_VMSAVE] = { on_vmsave, "vmsave" },
    [SVM_EXIT_STGI] = { on_stgi, "stgi" },
    [SVM_EXIT_CLGI] = { on_clgi, "clgi" },
    [SVM_EXIT_SKINIT] = { on_skinit, "skinit" },
    [SVM_EXIT_INVLPGA] = { on_invlpga, "invlpga" },
};

/* EVENTINJ / EXITINTINFO (§15.20, §15.7.2) as an arch-neutral event. INT3 and INTO come as
 * exceptions (type 3) with vector 3 or 4: they are software exceptions. QEMU's TCG reports every
 * event it was delivering as type 3 unless it was INTn (handle_even_inj ignores is_hw; measured in
 * the event-redelivery case: EXITINTINFO 0x800003ec for the timer interrupt), so type 3 with vector
 * 2 is the NMI and with a vector of 32 or more an external interrupt: no exception has those. */
static struct pending_event svm_event_decode(u64 info)
{
    struct pending_event ev = { .type = EVENT_NONE };
    u8 vector = (u8)info;

    if (!(info & EVENTINJ_VALID))
        return ev;
    ev.vector = vector;
    ev.has_error = info & EVENTINJ_ERR_VALID;
    ev.error = ev.has_error ? (u32)(info >> 32) : 0;
    switch (info & EVENTINJ_TYPE_MASK) {
    case EVENTINJ_TYPE_INTR:
        ev.type = EVENT_EXTERNAL;
        break;
    case EVENTINJ_TYPE_NMI:
        ev.type = EVENT_NMI;
        break;
    case EVENTINJ_TYPE_EXCEPTION:
        ev.type = vector == 3 || vector == 4 ? EVENT_SOFT_EXCEPTION
                  : vector == VEC_NMI        ? EVENT_NMI
                  : vector >= 32             ? EVENT_EXTERNAL
                                             : EVENT_EXCEPTION;
        if (ev.type == EVENT_NMI || ev.type == EVENT_EXTERNAL)
            ev.has_error = false, ev.error = 0;
        break;
    case EVENTINJ_TYPE_SOFT:
        ev.type = EVENT_SOFT_INT;
        break;
    default:
        ev.type = EVENT_NONE;
        break; /* reserved types: nothing to re-deliver */
    }
    return ev;
}

static u64 svm_event_encode(const struct pending_event *ev)
{
    u64 info = ev->vector | EVENTINJ_VALID;

    switch (ev->type) {
    case EVENT_EXTERNAL:
        info |= EVENTINJ_TYPE_INTR;
        break;
    case EVENT_NMI:
        info |= EVENTINJ_TYPE_NMI;
        break;
    case EVENT_EXCEPTION:
        info |= EVENTINJ_TYPE_EXCEPTION;
        break;
    default:
        return 0; /* software events re-execute on SVM (event_queue.h) */
    }
    if (ev->has_error)
        info |= EVENTINJ_ERR_VALID | ((u64)ev->error << 32);
    return info;
}

/*
 * After the exit's handler, before the next VMRUN: the event whose delivery this exit interrupted
 * (EXITINTINFO) goes first, the handler's own event (EVENTINJ, as it left it) behind it
 * (hv/core/event_queue.c decides). Without this the interrupted event is lost: an interrupt the
 * local APIC already acknowledged would keep its in-service bit for ever (docs/events.md).
 */
static void svm_complete_events(struct vcpu *v)
{
    static u64 logged;
    struct svm_vcpu *s = to_svm(v);
    struct vmcb_control *c = &s->vmcb->control;
    struct event_exit e = {
        .interrupted = svm_event_decode(c->exit_int_info),
        .handler = svm_event_decode(c->event_inj),
        .reflected = s->reflected,
        .soft_reinject = false, /* RIP points at INTn/INT3/INTO: it executes again */
        .can_take_interrupt = (v->regs[REG_RFLAGS] & RFLAGS_IF) && !(c->interrupt_shadow & 1),
        .rip = v->regs[REG_RIP],
        .nmi_pending = traps_nmi_pending() > 0,
    };
    struct pending_event ev;
    char a[40], b[40];

    s->reflected = false;
    if (v->state != VCPU_RUNNING)
        return;
    nmi_track_exit(&s->nmi, e.rip);
    e.nmi_blocked = s->nmi.masked;
    ev = vcpu_next_event(v, &s->events, &e, traps_nmi_take, traps_mce_take); /* EVENTINJ is written from ev below */
    traps_nmi_stats(&v->vm->nmis_taken, &v->vm->nmis_own);
    if (ev.type == EVENT_NMI)
        nmi_track_delivered(&s->nmi);
    s->event_need = nmi_track_intercepts(&s->nmi, s->events.want);
    svm_apply_intercepts(v);
    if (e.interrupted.type != EVENT_NONE) {
        s->redelivered++;
        LOG_RATELIMITED(logged, 16, "svm: exit 0x%llx interrupted the delivery of %s: %s delivered next (%llu so far)",
                        (unsigned long long)c->exit_code, event_describe(&e.interrupted, a, sizeof(a)),
                        event_describe(&ev, b, sizeof(b)), (unsigned long long)s->redelivered);
    }
    if (ev.type == EVENT_TRIPLE_FAULT) {
        exit_triple_fault(v); /* an exception while delivering #DF: what the CPU would do */
        return;
    }
    c->event_inj = svm_event_encode(&ev);
}

void svm_run_once(struct vcpu *v)
{
    struct svm_vcpu *s = to_svm(v);
    struct vmcb *vmcb = s->vmcb;
    u32 code;
    const struct svm_exit_entry *e;

    vmcb->save.rax = v->regs[REG_RAX];
    vmcb->save.rsp = v->regs[REG_RSP];
    vmcb->save.rip = v->regs[REG_RIP];
    vmcb->save.rflags = v->regs[REG_RFLAGS];
    svm_tick_before_entry(v);

    svm_note_entry(s);
    svm_world_switch(s->vmcb_pa, v->regs);
    /* GIF is clear since #VMEXIT; the host's IDT is back (IDTR from the host save area). Set it:
     * NMIs, SMIs and machine checks are taken from here on (an NMI is counted for the guest,
     * traps.c). Except after an INIT intercept: the INIT stays pending, and with GIF set it would
     * reset this core under the hypervisor (APM Vol. 2 §15.17); the guest is stopped instead. */
    if ((u32)vmcb->control.exit_code != SVM_EXIT_INIT)
        __asm__ volatile("stgi" ::: "memory");

    v->regs[REG_RAX] = vmcb->save.rax;
    v->regs[REG_RSP] = vmcb->save.rsp;
    v->regs[REG_RIP] = vmcb->save.rip;
    v->regs[REG_RFLAGS] = vmcb->save.rflags;
    vmcb->control.tlb_control = TLB_CONTROL_DO_NOTHING;
    vmcb->control.event_inj = 0; /* delivered by the VMRUN that just ran */

    code = (u32)vmcb->control.exit_code;
    e = code < SVM_EXIT_TABLE_SIZE ? &svm_exit_table[code] : NULL;
    exit_trace_record(code, e && e->name ? e->name : "other", v->regs[REG_RIP], vmcb->control.exit_info1,
                      vmcb->control.exit_info2);
    exit_counts_add(&s->exits, code);

    if (code == SVM_EXIT_INVALID) {
        svm_vmrun_refused(v); /* names the field that failed */
        return;
    }
    svm_note_accepted(s);
    if (!e || !e->fn) {
        exit_unexpected(v, "unexpected exit", code, vmcb->control.exit_info1, vmcb->control.exit_info2);
        return;
    }
    e->fn(v);
    svm_complete_events(v);
}

static const char *svm_exit_name(u32 code) { return svm_exit_table[code].name; }

void svm_report_exits(struct vcpu *v) { exit_counts_report(&to_svm(v)->exits, svm_exit_name); }
