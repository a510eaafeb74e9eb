/*
 * VMLAUNCH/VMRESUME and the VT-x exit table (Intel SDM Vol. 3C Appendix C for the basic exit
 * reasons, §28.2 for what each reports). As in svm_exit.c, the table points at the arch-neutral
 * handler in hv/exits.c where the exit needs no decoding, else at a small decoder here that reads
 * what VT-x reports (vmx_qual.c) and calls it.
 * Instruction lengths come from the VM-exit instruction-length field (§28.2.5).
 */
#include "arch/x86_64/vmx/vmx.h"
#include "arch/x86_64/vmx/vmx_qual.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/exceptions.h"
#include "arch/x86_64/traps.h"
#include "exits.h"
#include "core/exit_trace.h"
#include "core/guest_access.h"
#include "lib/log.h"

#define BLOCKING_STI_MOV_SS (BIT(0) | BIT(1))
#define BLOCKING_NMI        BIT(3)

typedef void (*vmx_exit_fn)(struct vcpu *v);

static void skip_bytes(struct vcpu *v, u64 len)
{
    v->regs[REG_RIP] += len;
    /* a skipped STI;HLT must not leave the shadow behind (and an injection needs it clear) */
    u64 intr = vmread(VMCS_GUEST_INTERRUPTIBILITY);
    if (intr & BLOCKING_STI_MOV_SS)
        vmwrite(VMCS_GUEST_INTERRUPTIBILITY, intr & ~(u64)BLOCKING_STI_MOV_SS);
}

/* vcpu_ops->skip_insn: the VM-exit instruction length (§28.2.5) for an instruction's own exit; an
 * exception exit has none, so there the handler's length (the #UD at a VMMCALL, 3 bytes). */
void vmx_skip_insn(struct vcpu *v, unsigned len)
{
    bool exception = VMX_EXIT_REASON_BASIC((u32)vmread(VMCS_EXIT_REASON)) == VMX_EXIT_EXCEPTION_NMI;
    skip_bytes(v, exception ? len : vmread(VMCS_EXIT_INSN_LEN));
}

static void on_io(struct vcpu *v)
{
    u64 qual = vmread(VMCS_EXIT_QUALIFICATION);
    struct io_access io;

    if (!vmx_decode_io(qual, &io) || io.string) {
        /* Only single ports we watch exit; string I/O to them is not something Linux does. */
        exit_unexpected(v, "string or malformed I/O on a watched port", VMX_EXIT_IO, qual, 0);
        return;
    }
    exit_io(v, io.port, io.size, io.in);
}

static void on_ept_violation(struct vcpu *v)
{
    u64 qual = vmread(VMCS_EXIT_QUALIFICATION);
    struct ept_violation e = vmx_decode_ept_violation(qual);
    exit_nested_fault(v, vmread(VMCS_GUEST_PHYSICAL_ADDRESS), e.write, e.fetch);
}

/* An EPT entry the CPU finds malformed: a bug in the tables (ept.c never writes one). */
static void on_ept_misconfig(struct vcpu *v)
{
    exit_unexpected(v, "EPT misconfiguration", VMX_EXIT_EPT_MISCONFIG, vmread(VMCS_GUEST_PHYSICAL_ADDRESS), 0);
}

/* Is the guest's instruction at RIP AMD's VMMCALL (0F 01 D9)? Fetched as the CPU would, at the
 * guest's CPL, through its page tables (hv/core/gva.c checks every step lies in guest RAM). */
static bool at_vmmcall(struct vcpu *v)
{
    u8 insn[3];
    u32 access = GVA_FETCH | (vcpu_ops->cpl(v) == 3 ? GVA_USER : GVA_SUPERVISOR);
    return guest_read_virt(v, v->regs[REG_RIP], insn, sizeof(insn), access) && insn[0] == 0x0f && insn[1] == 0x01 &&
           insn[2] == 0xd9;
}

/*
 * Exception or NMI. #UD always exits: the hypercall ABI's instruction is VMMCALL, compiled into
 * every guarded module's wrappers (christoize) and hvprobe, and on Intel it raises #UD instead of
 * exiting. So a #UD at a VMMCALL is the hypercall, and the modules run unchanged on both backends.
 * Every other exception exits only while border control watches a privileged vCPU (the exception
 * bitmap, NMI exiting). An NMI that exits is consumed (§25.2), unlike SVM's, so it is injected again.
 */
static void on_exception_nmi(struct vcpu *v)
{
    u64 qual = vmread(VMCS_EXIT_QUALIFICATION);
    struct intr_info i = vmx_decode_intr_info((u32)vmread(VMCS_EXIT_INTR_INFO));

    if (i.type == INTR_TYPE_HW_EXCEPTION && i.vector == VEC_UD && at_vmmcall(v)) {
        exit_hypercall(v); /* skips the 3 bytes itself: vmx_skip_insn's exception case */
        return;
    }
    if (i.type == INTR_TYPE_NMI) {
        /* Counted like a host-mode NMI (unless it is the hypervisor's own) and injected by
         * vmx_complete_events when the guest can take it; a privileged vCPU crosses first. */
        if (to_vmx(v)->watch & WATCH_INTERRUPTS)
            exit_watched_interrupt(v, true);
        traps_nmi_from_exit();
        vmx_apply_watch(v);
        return;
    }
    if (i.type != INTR_TYPE_HW_EXCEPTION) {
        exit_unexpected(v, "exception exit of an unexpected type", VMX_EXIT_EXCEPTION_NMI, i.type, i.vector);
        return;
    }
    if (i.vector == VEC_MC) { /* always in the exception bitmap */
        exit_machine_check(v);
        return;
    }
    exit_watched_exception(v, i.vector, i.has_error, (u32)vmread(VMCS_EXIT_INTR_ERROR), qual);
}

/* Interrupts exit only while watched, and then with "acknowledge interrupt on exit": the vector
 * is in the exit's interruption information, and the next entry injects it (vmx_apply_watch arms
 * the interrupt window with it, the IRET watch's exact step). */
static void on_external_interrupt(struct vcpu *v)
{
    struct intr_info i = vmx_decode_intr_info((u32)vmread(VMCS_EXIT_INTR_INFO));

    exit_watched_interrupt(v, false);
    if (i.valid)
        vmwrite(VMCS_ENTRY_INTR_INFO, vmx_intr_info(i.vector, INTR_TYPE_EXTERNAL, false));
    vmx_apply_watch(v); /* the window goes with the injection */
}
/* The guest can take an NMI again (its handler's IRET ran): vmx_complete_events injects the next. */
static void on_nmi_window(struct vcpu *v) { (void)v; }

/* The IRET watch's step with MTF (vmx_apply_watch): look at RFLAGS.IF again. */
static void on_monitor_trap(struct vcpu *v) { vmx_apply_watch(v); }

/* Border control's window, or the one a held interrupt asked for (vmx_complete_events delivers
 * it). Border control's IRET watch arms the window too. */
static void on_irq_window(struct vcpu *v)
{
    if (to_vmx(v)->watch & (WATCH_IRQ_WINDOW | WATCH_IRET))
        exit_irq_window(v);
}
/* The step with the preemption timer: the guest ran a while, so the interrupt was delivered and
 * its handler may already have returned into the module. With IF=1 that return (if it is one) is
 * checked as after an IRET (exit_irq_window: only an unprivileged vCPU at the RIP and RSP of an
 * interrupted module context is raised); with IF=0 the window is armed (run_once's re-apply). */
static void on_preemption_timer(struct vcpu *v)
{
    if (to_vmx(v)->timer_is_tick) {
        v->host_tick = true; /* the host tick: the guest ran a whole period without an exit */
        v->host_ticks++;
        return;
    }
    if (v->regs[REG_RFLAGS] & RFLAGS_IF)
        exit_irq_window(v);
}

/*
 * MOV to CR0/CR4 changing a bit the guest does not own (VMX's fixed bits; CR4.VMXE), CR3 and CR8
 * where the CPU cannot run without exiting on them, and CLTS/LMSW touching masked CR0 bits. The
 * guest's value goes to the read shadow, the register gets it with the fixed bits applied.
 */
static void write_cr_masked(struct vcpu *v, int cr, u64 value)
{
    u64 f0 = cr == 0 ? vmx_ctl.cr0_fixed0 : vmx_ctl.cr4_fixed0;
    u64 f1 = cr == 0 ? vmx_ctl.cr0_fixed1 : vmx_ctl.cr4_fixed1;
    u64 mask = cr == 0 ? to_vmx(v)->cr0_mask : to_vmx(v)->cr4_mask;

    /* Bits the CPU does not have (besides those VMX owns) fault as they would natively. */
    if ((value >> 32) || (value & ~f1 & ~mask)) {
        vcpu_inject_exception(v, VEC_GP, true, 0);
        return;
    }
    /* ... and CR4 bits naming a feature the guest's CPUID does not show (hv/exits.c) */
    if (cr == 4 && !exit_cr4_check(v, vcpu_ops->cr(v, 4), value))
        return;
    vmwrite(cr == 0 ? VMCS_CR0_SHADOW : VMCS_CR4_SHADOW, value);
    vmwrite(cr == 0 ? VMCS_GUEST_CR0 : VMCS_GUEST_CR4, vmx_cr_fixed(value, f0, f1));
    vmx_skip_insn(v, 0);
}

static void on_cr_access(struct vcpu *v)
{
    u64 qual = vmread(VMCS_EXIT_QUALIFICATION);
    struct cr_access c = vmx_decode_cr_access(qual);
    u64 cr0;

    switch (c.type) {
    case CR_MOV_TO:
        if (c.cr == 0 || c.cr == 4) {
            write_cr_masked(v, c.cr, v->regs[c.gpr]);
            return;
        }
        if (c.cr == 3) {
            vmwrite(VMCS_GUEST_CR3, v->regs[c.gpr]);
        } else if (c.cr == 8) {
            __asm__ volatile("mov %0, %%cr8" ::"r"(v->regs[c.gpr])); /* the guest owns its local APIC */
        } else {
            break;
        }
        vmx_skip_insn(v, 0);
        return;
    case CR_MOV_FROM:
        if (c.cr == 3)
            v->regs[c.gpr] = vmread(VMCS_GUEST_CR3);
        else if (c.cr == 8)
            __asm__ volatile("mov %%cr8, %0" : "=r"(v->regs[c.gpr]));
        else
            break;
        vmx_skip_insn(v, 0);
        return;
    case CR_CLTS:
        write_cr_masked(v, 0, vcpu_ops->cr(v, 0) & ~BIT(3));
        return;
    case CR_LMSW:
        /* LMSW loads CR0[3:0] but cannot clear PE (Vol. 2A, LMSW) */
        cr0 = vcpu_ops->cr(v, 0);
        write_cr_masked(v, 0, (cr0 & ~0xeull) | (c.lmsw_source & 0xf) | (cr0 & 1));
        return;
    }
    exit_unexpected(v, "control-register access", VMX_EXIT_CR_ACCESS, qual, 0);
}

static void on_vmx_insn(struct vcpu *v)
{
    const char *name = vmx_exit_reason_name(VMX_EXIT_REASON_BASIC((u32)vmread(VMCS_EXIT_REASON)));
    exit_forbidden_insn(v, name ? name : "a VMX instruction");
}

static const vmx_exit_fn vmx_exit_table[VMX_EXIT_TABLE_SIZE] = {
    [VMX_EXIT_EXCEPTION_NMI] = on_exception_nmi,
    [VMX_EXIT_EXTERNAL_INTERRUPT] = on_external_interrupt,
    [VMX_EXIT_TRIPLE_FAULT] = exit_triple_fault,
    [VMX_EXIT_INIT] = exit_init, /* exits always (§26.2): the core is not reset */
    [VMX_EXIT_INTERRUPT_WINDOW] = on_irq_window,
    [VMX_EXIT_NMI_WINDOW] = on_nmi_window,
    [VMX_EXIT_MONITOR_TRAP_FLAG] = on_monitor_trap,
    [VMX_EXIT_PREEMPTION_TIMER] = on_preemption_timer,
    [VMX_EXIT_CPUID] = exit_cpuid,
    [VMX_EXIT_INVD] = exit_invd, /* exits unconditionally (§26.1.2) */
    [VMX_EXIT_HLT] = exit_hlt,
    [VMX_EXIT_VMCALL] = exit_hypercall,
    [VMX_EXIT_GETSEC] = on_vmx_insn, /* SMX: not offered either */
    [VMX_EXIT_VMCLEAR] = on_vmx_insn,
    [VMX_EXIT_VMLAUNCH] = on_vmx_insn,
    [VMX_EXIT_VMPTRLD] = on_vmx_insn,
    [VMX_EXIT_VMPTRST] = on_vmx_insn,
    [VMX_EXIT_VMREAD] = on_vmx_insn,
    [VMX_EXIT_VMRESUME] = on_vmx_insn,
    [VMX_EXIT_VMWRITE] = on_vmx_insn,
    [VMX_EXIT_VMXOFF] = on_vmx_insn,
    [VMX_EXIT_VMXON] = on_vmx_insn,
    [VMX_EXIT_INVEPT] = on_vmx_insn,
    [VMX_EXIT_INVVPID] = on_vmx_insn,
    [VMX_EXIT_VMFUNC] = on_vmx_insn,
    [VMX_EXIT_CR_ACCESS] = on_cr_access,
    [VMX_EXIT_IO] = on_io,
    [VMX_EXIT_RDMSR] = exit_rdmsr,
    [VMX_EXIT_WRMSR] = exit_wrmsr,
    [VMX_EXIT_MWAIT] = exit_mwait,
    [VMX_EXIT_MONITOR] = exit_monitor,
    [VMX_EXIT_EPT_VIOLATION] = on_ept_violation,
    [VMX_EXIT_EPT_MISCONFIG] = on_ept_misconfig,
    [VMX_EXIT_XSETBV] = exit_xsetbv, /* exits unconditionally (§26.1.2) */
};

/* VMLAUNCH or VMRESUME refused the VMCS before any guest instruction ran. */
static void entry_refused(struct vcpu *v, int fail)
{
    const char *insn = to_vmx(v)->launched ? "VMRESUME" : "VMLAUNCH";

    if (fail == 2) {
        u32 err = (u32)vmread(VMCS_INSN_ERROR);
        LOG("vmx: %s failed: VMfailValid, VM-instruction error %u (%s)", insn, err, vmx_insn_error_name(err));
    } else {
        LOG("vmx: %s failed: VMfailInvalid (no current VMCS)", insn);
    }
    vcpu_ops->dump(v);
    vcpu_stop(v, "VM entry failed");
}

/* §27.8: VM entry checked the guest state and refused it after loading; a VM exit reports why. */
static void entry_failed(struct vcpu *v, u32 reason, u64 qual)
{
    LOG("vmx: VM entry failed: exit reason %u (%s), qualification 0x%llx", VMX_EXIT_REASON_BASIC(reason),
        VMX_EXIT_REASON_BASIC(reason) == VMX_EXIT_INVALID_GUEST_STATE ? "invalid guest state"
        : VMX_EXIT_REASON_BASIC(reason) == VMX_EXIT_MSR_LOADING       ? "MSR loading"
                                                                      : "machine check",
        (unsigned long long)qual);
    vcpu_ops->dump(v);
    vcpu_stop(v, "VM entry failed");
}

/* Interruption information (§25.8.3, §28.2.4: the VM-entry and IDT-vectoring fields share the
 * format) as an arch-neutral event; len is the instruction length a software event carries. */
static struct pending_event vmx_event_decode(u32 info, u32 error, u32 len)
{
    struct intr_info i = vmx_decode_intr_info(info);
    struct pending_event ev = { .type = EVENT_NONE };

    if (!i.valid)
        return ev;
    ev.vector = i.vector;
    ev.has_error = i.has_error;
    ev.error = i.has_error ? error : 0;
    switch (i.type) {
    case INTR_TYPE_EXTERNAL:
        ev.type = EVENT_EXTERNAL;
        break;
    case INTR_TYPE_NMI:
        ev.type = EVENT_NMI;
        break;
    case INTR_TYPE_HW_EXCEPTION:
        ev.type = EVENT_EXCEPTION;
        break;
    case INTR_TYPE_SW_INTERRUPT:
        ev.type = EVENT_SOFT_INT;
        ev.insn_len = (u8)len;
        break;
    case INTR_TYPE_PRIV_SW_EXCEPTION:
    case INTR_TYPE_SW_EXCEPTION:
        ev.type = EVENT_SOFT_EXCEPTION;
        ev.insn_len = (u8)len;
        break;
    default:
        break;
    }
    return ev;
}

static void vmx_event_write(const struct pending_event *ev)
{
    u32 type;

    switch (ev->type) {
    case EVENT_EXTERNAL:
        type = INTR_TYPE_EXTERNAL;
        break;
    case EVENT_NMI:
        type = INTR_TYPE_NMI;
        break;
    case EVENT_EXCEPTION:
        type = INTR_TYPE_HW_EXCEPTION;
        break;
    case EVENT_SOFT_INT:
        type = INTR_TYPE_SW_INTERRUPT;
        break;
    case EVENT_SOFT_EXCEPTION:
        type = ev->vector == 1 ? INTR_TYPE_PRIV_SW_EXCEPTION : INTR_TYPE_SW_EXCEPTION;
        break;
    default:
        vmwrite(VMCS_ENTRY_INTR_INFO, 0);
        return;
    }
    vmwrite(VMCS_ENTRY_INTR_INFO, vmx_intr_info(ev->vector, type, ev->has_error));
    if (ev->has_error)
        vmwrite(VMCS_ENTRY_EXCEPTION_ERROR, ev->error);
    if (ev->type == EVENT_SOFT_INT || ev->type == EVENT_SOFT_EXCEPTION)
        vmwrite(VMCS_ENTRY_INSN_LEN, ev->insn_len);
}

/*
 * After the exit's handler, before the next entry: the event whose delivery this exit interrupted
 * (IDT-vectoring information, §28.2.4) goes first, the handler's own injection behind it
 * (hv/core/event_queue.c decides; before, the handler's injection won and the interrupted event
 * was lost). A software event is re-injected with the exit's instruction length, so its return
 * address is past INTn/INT3/INTO (§26.6.1.3). The NMI-unblocking bit is not part of an injection.
 */
static void vmx_complete_events(struct vcpu *v, u32 idt_info)
{
    static u64 logged;
    struct vmx_vcpu *x = to_vmx(v);
    u32 blocking = (u32)vmread(VMCS_GUEST_INTERRUPTIBILITY) & BLOCKING_STI_MOV_SS;
    struct event_exit e = {
        .interrupted = vmx_event_decode(idt_info & ~(u32)INTR_INFO_NMI_UNBLOCK, (u32)vmread(VMCS_IDT_VECTORING_ERROR),
                                        (u32)vmread(VMCS_EXIT_INSN_LEN)),
        .handler = vmx_event_decode((u32)vmread(VMCS_ENTRY_INTR_INFO), (u32)vmread(VMCS_ENTRY_EXCEPTION_ERROR),
                                    (u32)vmread(VMCS_ENTRY_INSN_LEN)),
        .reflected = x->reflected,
        .soft_reinject = true,
        .can_take_interrupt = (v->regs[REG_RFLAGS] & RFLAGS_IF) && !blocking,
        .rip = v->regs[REG_RIP],
        .nmi_pending = traps_nmi_pending() > 0,
        /* with virtual NMIs the CPU tracks the guest's NMI blocking; without, NMIs are not
         * intercepted and a pending one (host mode) goes at the next entry. MOV SS blocking
         * forbids injecting an NMI too (§26.3.1.5); the NMI window waits for both. */
        .nmi_blocked = vmx_ctl.virtual_nmis && (vmread(VMCS_GUEST_INTERRUPTIBILITY) & (BLOCKING_NMI | BIT(1))),
    };
    struct pending_event ev;
    char a[40], b[40];

    x->reflected = false;
    if (v->state != VCPU_RUNNING)
        return;
    ev = vcpu_next_event(v, &x->events, &e, traps_nmi_take,
                         traps_mce_take); /* the entry field is written from ev below */
    traps_nmi_stats(&v->vm->nmis_taken, &v->vm->nmis_own);
    x->event_want = x->events.want;
    if (e.interrupted.type != EVENT_NONE) {
        x->redelivered++;
        LOG_RATELIMITED(logged, 16, "vmx: exit %u interrupted the delivery of %s: %s delivered next (%llu so far)",
                        VMX_EXIT_REASON_BASIC((u32)vmread(VMCS_EXIT_REASON)),
                        event_describe(&e.interrupted, a, sizeof(a)), event_describe(&ev, b, sizeof(b)),
                        (unsigned long long)x->redelivered);
    }
    if (ev.type == EVENT_TRIPLE_FAULT) {
        vmwrite(VMCS_ENTRY_INTR_INFO, 0);
        exit_triple_fault(v); /* an exception while delivering #DF: what the CPU would do */
        return;
    }
    vmx_event_write(&ev);
}

/* §28.2.3: an exit in the middle of an IRET that had already unblocked NMIs (a fault on the frame:
 * an exception or EPT violation with "NMI unblocking due to IRET"). The IRET runs again from the
 * start, so the guest's blocking is set back as it was (§28.3, with virtual NMIs). */
static void nmi_unblocked_by_iret(u32 basic, u32 idt_info, u64 qual)
{
    bool unblocked = false;

    if (!vmx_ctl.virtual_nmis || (idt_info & INTR_INFO_VALID))
        return;
    if (basic == VMX_EXIT_EXCEPTION_NMI) {
        u32 info = (u32)vmread(VMCS_EXIT_INTR_INFO);
        unblocked = (info & INTR_INFO_NMI_UNBLOCK) && vmx_decode_intr_info(info).vector != 8 /* #DF */;
    } else if (basic == VMX_EXIT_EPT_VIOLATION) {
        unblocked = qual & BIT(12);
    }
    if (unblocked)
        vmwrite(VMCS_GUEST_INTERRUPTIBILITY, vmread(VMCS_GUEST_INTERRUPTIBILITY) | BLOCKING_NMI);
}

void vmx_run_once(struct vcpu *v)
{
    struct vmx_vcpu *x = to_vmx(v);
    u32 reason, basic, idt_info;
    u8 had_want;
    u64 qual;
    const char *name;
    int fail;

    vmwrite(VMCS_GUEST_RSP, v->regs[REG_RSP]);
    vmwrite(VMCS_GUEST_RIP, v->regs[REG_RIP]);
    vmwrite(VMCS_GUEST_RFLAGS, v->regs[REG_RFLAGS]);

    fail = vmx_world_switch(v->regs, x->launched);
    if (fail) {
        entry_refused(v, fail);
        return;
    }
    x->launched = true;

    v->regs[REG_RSP] = vmread(VMCS_GUEST_RSP);
    v->regs[REG_RIP] = vmread(VMCS_GUEST_RIP);
    v->regs[REG_RFLAGS] = vmread(VMCS_GUEST_RFLAGS);
    reason = (u32)vmread(VMCS_EXIT_REASON);
    basic = VMX_EXIT_REASON_BASIC(reason);
    qual = vmread(VMCS_EXIT_QUALIFICATION);
    name = vmx_exit_reason_name(basic);
    exit_trace_record(basic, name ? name : "other", v->regs[REG_RIP], qual, vmread(VMCS_GUEST_PHYSICAL_ADDRESS));
    if (x->total_exits++ == 0) /* the proof that VMLAUNCH ran the guest (tests/bochs/run.sh) */
        LOG("vmx: first VM exit: %s at rip 0x%llx", name ? name : "other", (unsigned long long)v->regs[REG_RIP]);
    exit_counts_add(&x->exits, basic);

    if (reason & VMX_EXIT_REASON_ENTRY_FAIL) {
        entry_failed(v, reason, qual);
        return;
    }
    idt_info = (u32)vmread(VMCS_IDT_VECTORING_INFO);
    nmi_unblocked_by_iret(basic, idt_info, qual);
    if (basic >= VMX_EXIT_TABLE_SIZE || !vmx_exit_table[basic]) {
        exit_unexpected(v, name ? name : "unexpected VM exit", basic, qual, vmread(VMCS_GUEST_PHYSICAL_ADDRESS));
        return;
    }
    had_want = x->event_want;
    vmx_exit_table[basic](v);
    vmx_complete_events(v, idt_info);
    /* The IRET watch depends on RFLAGS.IF, which the handler may have changed; the windows on what
     * the event path still holds. */
    if ((x->watch & WATCH_IRET) || x->event_want || had_want)
        vmx_apply_watch(v);
}

static const char *exit_name(u32 code) { return vmx_exit_reason_name(code); }

void vmx_report_exits(struct vcpu *v) { exit_counts_report(&to_vmx(v)->exits, exit_name); }
