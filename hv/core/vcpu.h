/*
 * The one seam between the arch-neutral hypervisor and a virtualization backend (AMD SVM in
 * arch/x86_64/svm, Intel VT-x in arch/x86_64/vmx). Nothing in hv/ includes an arch/x86_64/svm or vmx header: it calls vcpu_ops.
 *
 * A backend's run_once() enters the guest, takes the exit, and dispatches it through its own
 * exit table to the arch-neutral handlers in hv/exits.h. Guest GPRs live in vcpu->regs; the
 * backend syncs RIP/RSP/RFLAGS/RAX with its control structure around each handler.
 */
#ifndef POSTERN_VCPU_H
#define POSTERN_VCPU_H

#include "lib/types.h"
#include "core/guest_entry.h"
#include "core/virt.h"
#include "core/event_queue.h"

/* Indexed by the x86 register number, so an instruction's ModRM fields index it directly. */
enum vcpu_reg {
    REG_RAX,
    REG_RCX,
    REG_RDX,
    REG_RBX,
    REG_RSP,
    REG_RBP,
    REG_RSI,
    REG_RDI,
    REG_R8,
    REG_R9,
    REG_R10,
    REG_R11,
    REG_R12,
    REG_R13,
    REG_R14,
    REG_R15,
    REG_RIP,
    REG_RFLAGS,
    VCPU_NREGS
};

enum vcpu_state {
    VCPU_RUNNING,
    VCPU_STOPPED, /* the guest is gone; stop_reason says why */
};

struct vm;
struct npt_format;

/* Intercepts border control switches while a vCPU holds a module's privilege (docs/border-control.md). */
enum vcpu_watch {
    WATCH_INTERRUPTS = BIT(0), /* external interrupts and NMIs exit before delivery */
    WATCH_EXCEPTIONS = BIT(1), /* guest exceptions exit before delivery */
    WATCH_IRET = BIT(2),       /* IRET exits before it executes */
    WATCH_IRQ_WINDOW = BIT(3), /* an exit as soon as the guest can take an interrupt (IF=1) */
};

struct vcpu {
    u64 regs[VCPU_NREGS];
    u32 id;
    /* The physical CPU (local APIC id) this vCPU runs on. Postern pins a vCPU to one physical CPU
     * and never schedules anything else there; vm_vcpu_owns_core() is the check built on it. */
    bool pinned;
    u32 pcpu;
    enum vcpu_state state;
    const char *stop_reason;
    struct vm *vm;
    void *arch; /* backend-private (the VMCB and friends) */
    /* This exit was the host tick's (set_host_tick): the run loop serves the serial line and the
     * IOMMU's fault log now, and clears it. */
    bool host_tick;
    u64 host_ticks; /* such exits, for the report */
};

/* Exceptions the hypervisor may inject. */
#define VEC_NMI 2
#define VEC_UD  6
#define VEC_GP  13
#define VEC_PF  14
#define VEC_MC  18

struct vcpu_ops {
    const char *name;
    bool (*probe)(struct virt_caps *caps, char *why, size_t why_size);
    /* The nested page-table entry format (hv/core/npt.h) this backend's hardware walks; after enable. */
    const struct npt_format *(*nested_format)(void);
    /* Turn virtualization on for this physical CPU. */
    bool (*enable)(char *why, size_t why_size);
    /* Prepare a vCPU to start at entry, with nested_root as its guest-physical → host-physical map. */
    bool (*create)(struct vcpu *v, const struct guest_entry *entry, hpa_t nested_root, char *why, size_t why_size);
    /* Enter the guest once and handle the exit that brings it back. */
    void (*run_once)(struct vcpu *v);
    /* The intercepted instruction is done: move RIP past it and drop any interrupt shadow (a
     * skipped STI;HLT must not leave it behind). len is its length for a backend that cannot read
     * it from the hardware (SVM without NRIP save); 0 where it varies (port I/O), which every
     * backend knows from the exit itself. */
    void (*skip_insn)(struct vcpu *v, unsigned len);
    void (*set_io_intercept)(struct vcpu *v, u16 port, bool on);
    void (*set_msr_intercept)(struct vcpu *v, u32 msr, bool read, bool write);
    void (*inject_exception)(struct vcpu *v, u8 vector, bool has_error, u32 error);
    void (*inject_interrupt)(struct vcpu *v, u8 vector);
    void (*inject_nmi)(struct vcpu *v);
    /* Deliver an exception the hypervisor intercepted, as the CPU would have (CR2 for #PF). */
    void (*reinject_exception)(struct vcpu *v, u8 vector, bool has_error, u32 error, u64 cr2);
    /* Which border-control intercepts are on (a mask of enum vcpu_watch). */
    void (*set_watch)(struct vcpu *v, u32 watch);
    /* Whether HLT, MONITOR and MWAIT exit (on: the default) or run natively (off: only for a
     * vCPU that has its physical core to itself and holds the `idle` privilege, hv/guard/idle.c). */
    void (*set_idle_intercepts)(struct vcpu *v, bool on);
    /* Run the vCPU on another nested-paging view (struct vm's enum vm_view): O(1), no table edits.
     * Each view has its own TLB tag where the hardware has them, so a switch needs no flush. */
    void (*set_nested_root)(struct vcpu *v, hpa_t root, u32 view);
    /* How many views (numbers 0 .. n-1) get a TLB tag of their own: SVM's ASIDs past the host's
     * (CPUID 8000_000A EBX - 1); 0 = no limit (VT-x tags each EPT root by itself). Border control
     * refuses a registration that would need a view past the last (hv/guard/border_views.h). */
    u32 (*nested_view_tags)(void);
    /* The nested page tables changed: drop cached translations before the next entry. */
    void (*flush_nested_tlb)(struct vcpu *v);
    u8 (*cpl)(struct vcpu *v);
    u64 (*cr)(struct vcpu *v, int n);
    u64 (*efer)(struct vcpu *v);
    /* Write the guest's EFER as the guest means it; the backend keeps what it needs (SVME). */
    void (*set_efer)(struct vcpu *v, u64 efer);
    /* Print backend state (control block fields) for the panic report. */
    void (*dump)(struct vcpu *v);
    /* Print "exits <reason> <count>" lines, one per exit reason seen. */
    void (*report_exits)(struct vcpu *v);
    /* The guest halted with interrupts enabled: wait on the physical CPU until an interrupt
     * (returns its vector) or an NMI (returns WAIT_NMI) arrives, leaving it for the guest. With
     * line_ready (the serial line's input cannot raise an interrupt here: hv/console/console.c),
     * wait in short PAUSE steps with interrupts open instead of HLT, and return WAIT_LINE as soon
     * as line_ready() says a byte is waiting. */
    int (*wait_for_event)(struct vcpu *v, bool (*line_ready)(void));
    /* The host tick (docs/console.md "The host tick"): an exit at least every period_tsc TSC ticks
     * while the guest runs, as far as the hardware lets a hypervisor that leaves the interrupt
     * controllers to the guest; such an exit sets v->host_tick. VT-x: the VMX-preemption timer,
     * whatever the guest does. SVM (no such timer): the guest's own interrupts (the INTR
     * intercept, then the interrupt window to re-arm it) while it runs with IF=1, and PAUSE
     * while it runs with IF=0 (spin and delay loops). 0: off. */
    void (*set_host_tick)(struct vcpu *v, u64 period_tsc);
};

#define WAIT_NMI  (-2)
#define WAIT_LINE (-3)

/* Stop the guest for good (it powered off, triple-faulted, ...). The hypervisor stays up. */
void vcpu_stop(struct vcpu *v, const char *reason);

/*
 * Events the hypervisor delivers to the guest go through these, never through vcpu_ops directly:
 * an event taken inside a guarded module crosses its border, and border control must see it
 * before delivery, whichever layer injects it. The guard layer registers that hook at boot
 * (vcpu_set_event_hook); it is called with the vector and the RIP the event's IRET frame returns
 * to, and does nothing for a vCPU outside every module.
 */
typedef void (*vcpu_event_hook_fn)(struct vcpu *v, u8 vector, u64 return_rip);
void vcpu_set_event_hook(vcpu_event_hook_fn hook);
void vcpu_inject_exception(struct vcpu *v, u8 vector, bool has_error, u32 error);
/* Deliver an exception the hypervisor intercepted, as the CPU would have (CR2 for #PF). */
void vcpu_reinject_exception(struct vcpu *v, u8 vector, bool has_error, u32 error, u64 cr2);
/* An interrupt vector or WAIT_NMI (what wait_for_event returned), returning to return_rip. */
void vcpu_inject_external(struct vcpu *v, int event, u64 return_rip);

/*
 * The backends' common step after every exit handler (svm_complete_events, vmx_complete_events):
 * the event this entry delivers (event_queue_next). When that is one of the NMIs the hypervisor
 * took for the guest, it is taken off the count (take_nmi: traps_nmi_take) and injected through
 * vcpu_inject_external, so border control's hook sees it, once. An interrupted event delivered
 * again does not run the hook again: its first injection did (or it was the CPU's own delivery,
 * which the border intercepts watch). A machine check the hypervisor took and handed to the guest
 * (take_mce: traps_mce_take) goes the same way, at an entry that delivers nothing else. The backend
 * then writes the returned event to its entry field.
 */
struct event_queue;
struct event_exit;
struct pending_event vcpu_next_event(struct vcpu *v, struct event_queue *q, const struct event_exit *e,
                                     bool (*take_nmi)(void), bool (*take_mce)(void));

/* The backend this CPU uses: virt_backend() picks it by CPU vendor (AMD/Hygon: SVM, Intel: VT-x;
 * arch/x86_64/virt_select.c), and hv_main stores it here. */
extern const struct vcpu_ops *vcpu_ops;
const struct vcpu_ops *virt_backend(void);
extern const struct vcpu_ops svm_vcpu_ops;
extern const struct vcpu_ops vmx_vcpu_ops;

#endif
