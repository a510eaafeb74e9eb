/* SVM backend internals shared by svm.c and svm_exit.c. Only arch/x86_64/svm includes this. */
#ifndef POSTERN_SVM_H
#define POSTERN_SVM_H

#include "core/vcpu.h"
#include "arch/x86_64/svm/vmcb.h"
#include "arch/x86_64/exit_counts.h"
#include "core/event_queue.h"

/* The guest-state fields VMRUN checks, as the hypervisor handed them to this VMRUN (svm_cr.c). */
struct svm_entry_state {
    u64 cr0, cr3, cr4, efer, dr6, dr7, rip, rsp, event_inj;
    u16 cs_attrib;
};

struct svm_vcpu {
    struct vmcb *vmcb;
    hpa_t vmcb_pa;
    u8 *iopm;
    u8 *msrpm;
    bool nrip_save; /* the CPU fills control.next_rip */
    u64 exit_count[SVM_EXIT_TABLE_SIZE];
    struct exit_counts exits;  /* over exit_count */
    struct event_queue events; /* events held behind an interrupted delivery (hv/core/event_queue.h) */
    bool reflected;            /* this exit's EVENTINJ is the guest's own intercepted exception */
    u64 redelivered;           /* interrupted deliveries re-injected */
    u32 border_watch;          /* what border control asked for (enum vcpu_watch) */
    u8 event_need;             /* NMI_TRACK_*: what the held and pending events need (svm_exit.c) */
    struct nmi_track nmi;      /* the guest's NMI blocking, which SVM does not track (event_queue.h) */
    bool tick;                 /* the host tick is on (svm_tick.c) */
    bool tick_window;          /* the tick's INTR exit let the interrupt through: re-arm at the window */
    /* svm_cr.c: the state the CPU last accepted, the last guest CR4 change, this entry's EVENTINJ */
    u64 ok_cr0, ok_cr4, ok_efer;
    u64 cr4_write_rip, cr4_write_old;
    struct svm_entry_state entry; /* this VMRUN's state: QEMU overwrites the VMCB's on a refusal */
};

static inline struct svm_vcpu *to_svm(struct vcpu *v) { return v->arch; }

void svm_world_switch(u64 vmcb_pa, u64 *gprs);
void svm_run_once(struct vcpu *v);
void svm_skip_insn(struct vcpu *v, unsigned len);
void svm_report_exits(struct vcpu *v);
/* The intercepts from border control's watch, the event path and the host tick (svm.c). */
void svm_apply_intercepts(struct vcpu *v);
/* svm_tick.c: the host tick's part of the intercepts, its exits, and the per-entry PAUSE choice. */
void svm_set_host_tick(struct vcpu *v, u64 period_tsc);
void svm_tick_intercepts(struct vcpu *v, u32 *misc1, u64 *vintr);
void svm_tick_before_entry(struct vcpu *v);
bool svm_tick_intr_exit(struct vcpu *v);
bool svm_tick_vintr_exit(struct vcpu *v);
void svm_tick_pause_exit(struct vcpu *v);
void svm_on_cr4_write(struct vcpu *v);
void svm_note_accepted(struct svm_vcpu *s);
void svm_vmrun_refused(struct vcpu *v);
void svm_note_entry(struct svm_vcpu *s);
extern struct virt_caps svm_caps;

#endif
