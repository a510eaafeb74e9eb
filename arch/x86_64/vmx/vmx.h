/* VT-x backend internals shared by vmx.c and vmx_exit.c. Only arch/x86_64/vmx includes this. */
#ifndef POSTERN_VMX_H
#define POSTERN_VMX_H

#include "core/vcpu.h"
#include "core/event_queue.h"
#include "arch/x86_64/exit_counts.h"
#include "arch/x86_64/vmx/vmcs.h"
#include "arch/x86_64/vmx/vmx_caps.h"

struct vmx_vcpu {
    hpa_t vmcs_pa;
    u8 *io_bitmap;  /* A (ports 0-7FFFh) and B (8000h-FFFFh), contiguous */
    u8 *msr_bitmap; /* read low, read high, write low, write high: 1 KiB each */
    bool launched;  /* VMLAUNCH done: later entries are VMRESUME */
    u32 watch;      /* enum vcpu_watch */
    bool idle_intercepts;
    u64 cr0_mask, cr4_mask;
    u64 exit_count[VMX_EXIT_TABLE_SIZE];
    struct exit_counts exits;
    u64 total_exits;
    struct event_queue events; /* events held behind an interrupted delivery (hv/core/event_queue.h) */
    bool reflected;            /* this exit's injection is the guest's own intercepted exception */
    u64 redelivered;           /* interrupted deliveries re-injected */
    u32 tick_units;            /* the host tick in preemption-timer units; 0: off */
    bool timer_is_tick; /* the preemption timer armed at the last entry is the tick's, not the IRET watch's step */
    u8 event_want;      /* EVENT_WANT_*: the windows held and pending events need (vmx_exit.c) */
};

static inline struct vmx_vcpu *to_vmx(struct vcpu *v) { return v->arch; }

extern struct vmx_controls vmx_ctl;

/* ---- the VMX instructions (SDM Vol. 3C Chapter 31); failure is CF or ZF set ---- */

static inline u64 vmread(u32 field)
{
    u64 value;
    __asm__ volatile("vmread %[field], %[value]" : [value] "=rm"(value) : [field] "r"((u64)field) : "cc");
    return value;
}

/* Writes to a field this CPU does not support are counted and the first is logged (vmx.c). */
void vmwrite(u32 field, u64 value);

/* int vmx_world_switch(u64 *gprs, u32 launched): 0 after a VM exit, 1 VMfailInvalid, 2 VMfailValid. */
int vmx_world_switch(u64 *gprs, u32 launched);
extern const u8 vmx_exit_landing[];

/* Re-apply the watch (enum vcpu_watch) with the guest's current RFLAGS.IF (vmx.c explains). */
void vmx_apply_watch(struct vcpu *v);
void vmx_run_once(struct vcpu *v);
void vmx_report_exits(struct vcpu *v);
/* Move RIP past the instruction that exited and drop the STI / MOV SS blocking it left. */
void vmx_skip_insn(struct vcpu *v, unsigned len);

#endif
