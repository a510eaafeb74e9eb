/*
 * The MSR policy: one table saying, for every MSR the guest may touch, whether its reads and writes
 * run natively, are emulated by the hypervisor, or are refused (docs/msr.md holds the same table; a
 * unit test checks one against the other both ways). The SVM MSR permission map and the VMX MSR
 * bitmap are generated from it (msr_policy_for_each_intercept); the exit path (hv/exits_msr.c) looks
 * the MSR up here. Pure: no MSR is read here; unit-tested on the host.
 */
#ifndef POSTERN_MSR_POLICY_H
#define POSTERN_MSR_POLICY_H

#include "lib/types.h"

enum msr_vendor { MSR_ANY, MSR_AMD, MSR_INTEL };

enum msr_read {
    MSR_READ_PASS,    /* natively (no exit); where the MSR always exits, the hypervisor reads it for the guest */
    MSR_READ_EMULATE, /* the hypervisor answers (its own value, or what the guest last wrote) */
    MSR_READ_FAULT,   /* #GP, as on a CPU without the MSR */
};

enum msr_write {
    MSR_WRITE_PASS,    /* natively; where the MSR always exits, the hypervisor writes it for the guest */
    MSR_WRITE_EMULATE, /* kept for the guest to read back; the machine's MSR is never written */
    MSR_WRITE_FILTER,  /* checked: the bits the guest may change reach the MSR, the rest stay the host's */
    MSR_WRITE_DROP,    /* refused: ignored (no fault) and logged, rate-limited */
    MSR_WRITE_FAULT,   /* refused with #GP, logged, rate-limited */
};

/* MSRs whose read or write needs code of its own (hv/exits_msr.c); MSR_SPECIAL_NONE: the generic action. */
enum msr_special {
    MSR_SPECIAL_NONE,
    MSR_SPECIAL_EFER,            /* SVME hidden and kept; the other bits checked */
    MSR_SPECIAL_APIC_BASE,       /* mode changes as the hardware allows; the base address never moves */
    MSR_SPECIAL_X2APIC_ICR,      /* INIT and SIPI judged (hv/apic_trap.c); other IPIs sent */
    MSR_SPECIAL_DC_CFG,          /* erratum 383's bit 47 kept where the hypervisor set it */
    MSR_SPECIAL_HWCR,            /* only IRPerfEn reaches the MSR (docs/events.md) */
    MSR_SPECIAL_MTRR,            /* emulated after the hardware's own checks (types, reserved bits, VCNT) */
    MSR_SPECIAL_VM_CR,           /* reads "SVM disabled by firmware, locked" */
    MSR_SPECIAL_VM_HSAVE_PA,     /* reads 0 */
    MSR_SPECIAL_FEATURE_CONTROL, /* reads "locked, VMX off" */
};

struct msr_rule {
    u32 first, last, step; /* the MSRs first, first + step, ... up to last (step 1: every one) */
    const char *name;
    u8 vendor;   /* enum msr_vendor: the rule applies on that vendor's CPUs only */
    u8 read;     /* enum msr_read */
    u8 write;    /* enum msr_write */
    u8 special;  /* enum msr_special */
    u32 witness; /* logged after a refused or emulated write to show the machine's value: this MSR
                  * (0: the written MSR itself; write-only loaders name the revision MSR) */
};

extern const struct msr_rule msr_rules[];
extern const unsigned msr_rule_count;

/* The first rule that covers msr on this vendor's CPUs; NULL: none (the default applies: native
 * inside the backends' bitmap ranges, #GP outside them, where every access exits). */
const struct msr_rule *msr_rule_find(u32 msr, enum msr_vendor vendor);
/* For every MSR some rule intercepts on this vendor (its first rule's read or write is not PASS):
 * set(ctx, msr, read_exits, write_exits). The backends build their bitmaps with it. */
void msr_policy_for_each_intercept(enum msr_vendor vendor, void (*set)(void *ctx, u32 msr, bool read, bool write),
                                   void *ctx);
/* "AuthenticAMD" and "HygonGenuine" are AMD, anything else Intel's MSR map. */
enum msr_vendor msr_vendor_of(const char *cpuid_vendor);
/* Words for the log and the doc table. */
const char *msr_read_name(enum msr_read r);
const char *msr_write_name(enum msr_write w);
const char *msr_vendor_name(enum msr_vendor v);

/* The values emulated MSRs hold for the guest (what it last wrote). Fixed capacity: false when an
 * MSR not yet held does not fit. */
#define MSR_SHADOW_MAX 256
bool msr_shadow_get(u32 msr, u64 *value);
bool msr_shadow_set(u32 msr, u64 value);
void msr_shadow_reset(void);

/* MTRRs (Intel SDM Vol. 3A §12.11, AMD APM Vol. 2 §7.7): would the hardware take this value?
 * Memory types 0, 1, 4, 5, 6 only; reserved bits and bits at or above maxphyaddr clear. vcnt is
 * MTRRcap's count of variable pairs, fixed whether it has the fixed-range MTRRs. */
bool msr_mtrr_write_ok(u32 msr, u64 value, unsigned maxphyaddr, unsigned vcnt, bool fixed);

#define APIC_BASE_BSP  BIT(8)
#define APIC_BASE_EXTD BIT(10)
#define APIC_BASE_EN   BIT(11)
enum apic_base_verdict {
    APIC_BASE_OK,    /* write `value` (msr_apic_base_check's out) to the MSR */
    APIC_BASE_FAULT, /* #GP, as the hardware would (reserved bits, an illegal mode change) */
    APIC_BASE_MOVED, /* the guest asks to move the APIC: refused, the MSR keeps its base */
};
/* A guest write `want` to IA32_APIC_BASE (Intel SDM Vol. 3A §11.4.4, §11.12.5: modes disabled, xAPIC,
 * x2APIC; x2APIC to xAPIC and disabled to x2APIC are illegal, EN=0 with EXTD=1 is invalid) against
 * the current value `now`. On APIC_BASE_OK, *out is what to write: the guest's mode bits, the
 * current BSP flag. */
enum apic_base_verdict msr_apic_base_check(u64 now, u64 want, unsigned maxphyaddr, bool has_x2apic, u64 *out);

#endif
