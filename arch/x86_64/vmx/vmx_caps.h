/*
 * What this CPU's VT-x offers, read from the capability MSRs, and the controls Postern runs the
 * guest with, chosen from them (Intel SDM Vol. 3D Appendix A, §A.2-A.7; Vol. 3C §25.6-25.8).
 * Pure functions of the MSR values: the unit tests feed them CPUs that lack one thing or another.
 */
#ifndef POSTERN_VMX_CAPS_H
#define POSTERN_VMX_CAPS_H

#include "lib/types.h"

struct vmx_cap_msrs {
    u64 feature_control;
    u64 basic;
    /* The TRUE_* MSRs where IA32_VMX_BASIC[55] says they exist (they may report default-1
     * controls as 0, e.g. CR3-load exiting), else the original ones. */
    u64 pin, proc, exit, entry;
    u64 proc2; /* 0 when the primary controls cannot activate secondary controls */
    u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
    u64 ept_vpid; /* 0 without secondary controls */
    u64 vmfunc;   /* 0 unless VM functions can be enabled */
};

/* Read every MSR above through rdmsr (the real instruction in the hypervisor, a table in tests). */
void vmx_read_caps(struct vmx_cap_msrs *c, u64 (*rdmsr_fn)(u32 msr));

/* A control word from a capability MSR: bits 31:0 are the allowed-0 settings (1 = must be 1), bits
 * 63:32 the allowed-1 settings (0 = must be 0). Returns the bits of want the CPU allows, plus the
 * bits it forces on. */
u32 vmx_ctl_adjust(u64 cap, u32 want);
/* May this control bit be 1 / be 0? */
static inline bool vmx_ctl_may_set(u64 cap, u32 bit) { return (cap >> 32) & bit; }
static inline bool vmx_ctl_may_clear(u64 cap, u32 bit) { return !((u32)cap & bit); }

struct vmx_controls {
    u32 pin, proc, proc2, exit, entry;
    bool vpid;             /* one VPID per nested-paging view */
    bool unrestricted;     /* the guest may run with paging off (CR0.PE/PG exempt from the fixed bits) */
    bool ept_2mb;          /* 2 MiB EPT leaves */
    bool ept_1gb;          /* 1 GiB EPT leaves */
    bool mtf;              /* the monitor trap flag (the IRET watch's step, vmx.c) */
    bool preemption_timer; /* the VMX-preemption timer (the IRET watch's step without MTF) */
    bool invept_single;
    /* NMI exiting, virtual NMIs and NMI-window exiting (§25.6.1, §25.6.2): every NMI exits and is
     * injected when the guest can take it; without them NMIs go to the guest's IDT directly */
    bool virtual_nmis;
    bool vmfunc_eptp;                                   /* VMFUNC leaf 0 (EPTP switching) offered; not used yet */
    u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1; /* as the guest's CRs must obey them */
};

/* Choose the controls (docs/vmx.md lists them and why). False with a reason naming the missing
 * feature when the CPU cannot run Postern. */
bool vmx_choose_controls(const struct vmx_cap_msrs *c, struct vmx_controls *out, char *why, size_t why_size);

/* A guest control-register value made acceptable to VM entry: fixed-1 bits set, fixed-0 bits clear. */
static inline u64 vmx_cr_fixed(u64 value, u64 fixed0, u64 fixed1) { return (value | fixed0) & fixed1; }
/* The guest/host mask for such a register: the bits the guest may not own (reads come from the
 * shadow, writes that change them exit). */
static inline u64 vmx_cr_mask(u64 fixed0, u64 fixed1) { return (fixed0 | ~fixed1) & 0xffffffffull; }

#endif
