/* VT-x capabilities and the controls chosen from them: see vmx_caps.h. */
#include "arch/x86_64/vmx/vmx_caps.h"
#include "arch/x86_64/vmx/vmcs.h"
#include "lib/lib.h"
#include "lib/log.h"

#define CR0_PE_PG (BIT(0) | BIT(31))

void vmx_read_caps(struct vmx_cap_msrs *c, u64 (*rd)(u32 msr))
{
    bool true_ctls;

    memset(c, 0, sizeof(*c));
    c->feature_control = rd(MSR_FEATURE_CONTROL);
    c->basic = rd(MSR_VMX_BASIC);
    true_ctls = c->basic & VMX_BASIC_TRUE_CTLS;
    c->pin = rd(true_ctls ? MSR_VMX_TRUE_PINBASED : MSR_VMX_PINBASED_CTLS);
    c->proc = rd(true_ctls ? MSR_VMX_TRUE_PROCBASED : MSR_VMX_PROCBASED_CTLS);
    c->exit = rd(true_ctls ? MSR_VMX_TRUE_EXIT : MSR_VMX_EXIT_CTLS);
    c->entry = rd(true_ctls ? MSR_VMX_TRUE_ENTRY : MSR_VMX_ENTRY_CTLS);
    c->cr0_fixed0 = rd(MSR_VMX_CR0_FIXED0);
    c->cr0_fixed1 = rd(MSR_VMX_CR0_FIXED1);
    c->cr4_fixed0 = rd(MSR_VMX_CR4_FIXED0);
    c->cr4_fixed1 = rd(MSR_VMX_CR4_FIXED1);
    /* §A.3.3, A.10, A.11: these exist only when the control that reports them may be 1. */
    if (vmx_ctl_may_set(c->proc, PROC_SECONDARY_CONTROLS)) {
        c->proc2 = rd(MSR_VMX_PROCBASED_CTLS2);
        if (vmx_ctl_may_set(c->proc2, PROC2_ENABLE_EPT) || vmx_ctl_may_set(c->proc2, PROC2_ENABLE_VPID))
            c->ept_vpid = rd(MSR_VMX_EPT_VPID_CAP);
        if (vmx_ctl_may_set(c->proc2, PROC2_ENABLE_VMFUNC))
            c->vmfunc = rd(MSR_VMX_VMFUNC);
    }
}

u32 vmx_ctl_adjust(u64 cap, u32 want) { return (want | (u32)cap) & (u32)(cap >> 32); }

struct named_bit {
    u32 bit;
    const char *name;
};

/* Set every required bit (false, naming the first the CPU lacks) and every optional one it has. */
static bool choose(const char *what, u64 cap, const struct named_bit *required, size_t n, u32 optional, u32 *out,
                   char *why, size_t why_size)
{
    u32 want = optional;

    for (size_t i = 0; i < n; i++) {
        if (!vmx_ctl_may_set(cap, required[i].bit)) {
            fmt_snprintf(why, why_size, "this CPU's VT-x lacks the %s control '%s'", what, required[i].name);
            return false;
        }
        want |= required[i].bit;
    }
    *out = vmx_ctl_adjust(cap, want);
    return true;
}

/* Controls border control switches at run time must be free to be both 0 and 1. */
static bool switchable(const char *what, u64 cap, const struct named_bit *bits, size_t n, char *why, size_t why_size)
{
    for (size_t i = 0; i < n; i++) {
        if (!vmx_ctl_may_set(cap, bits[i].bit) || !vmx_ctl_may_clear(cap, bits[i].bit)) {
            fmt_snprintf(why, why_size, "this CPU's VT-x cannot switch the %s control '%s' (border control needs it)",
                         what, bits[i].name);
            return false;
        }
    }
    return true;
}

static const struct named_bit proc_required[] = {
    { PROC_HLT_EXITING, "HLT exiting" },         { PROC_MWAIT_EXITING, "MWAIT exiting" },
    { PROC_MONITOR_EXITING, "MONITOR exiting" }, { PROC_USE_IO_BITMAPS, "use I/O bitmaps" },
    { PROC_USE_MSR_BITMAPS, "use MSR bitmaps" }, { PROC_SECONDARY_CONTROLS, "activate secondary controls" },
};
static const struct named_bit proc2_required[] = { { PROC2_ENABLE_EPT, "enable EPT" } };
static const struct named_bit exit_required[] = {
    { EXIT_HOST_ADDR_SPACE_64, "host address-space size" },
    { EXIT_SAVE_EFER, "save IA32_EFER" },
    { EXIT_LOAD_EFER, "load IA32_EFER" },
};
static const struct named_bit entry_required[] = {
    { ENTRY_IA32E_GUEST, "IA-32e mode guest" },
    { ENTRY_LOAD_EFER, "load IA32_EFER" },
};
static const struct named_bit pin_switched[] = {
    { PIN_EXTINT_EXITING, "external-interrupt exiting" },
    { PIN_NMI_EXITING, "NMI exiting" },
};
static const struct named_bit proc_switched[] = {
    { PROC_INTR_WINDOW_EXITING, "interrupt-window exiting" },
    { PROC_HLT_EXITING, "HLT exiting" },
    { PROC_MWAIT_EXITING, "MWAIT exiting" },
    { PROC_MONITOR_EXITING, "MONITOR exiting" },
};

/* Instructions the guest sees in CPUID but that fault with #UD in VMX non-root operation unless
 * their control is on (Table 25-7), so they are enabled wherever the CPU can. */
#define PROC2_GUEST_INSNS (PROC2_ENABLE_RDTSCP | PROC2_ENABLE_INVPCID | PROC2_ENABLE_XSAVES)

bool vmx_choose_controls(const struct vmx_cap_msrs *c, struct vmx_controls *out, char *why, size_t why_size)
{
    u64 ept = c->ept_vpid;

    memset(out, 0, sizeof(*out));
    if (!choose("pin-based", c->pin, NULL, 0, 0, &out->pin, why, why_size) ||
        !choose("processor-based", c->proc, proc_required, ARRAY_SIZE(proc_required), 0, &out->proc, why, why_size) ||
        !choose("secondary processor-based", c->proc2, proc2_required, ARRAY_SIZE(proc2_required),
                PROC2_ENABLE_VPID | PROC2_UNRESTRICTED_GUEST | PROC2_GUEST_INSNS, &out->proc2, why, why_size) ||
        !choose("VM-exit", c->exit, exit_required, ARRAY_SIZE(exit_required), EXIT_SAVE_PAT | EXIT_LOAD_PAT, &out->exit,
                why, why_size) ||
        !choose("VM-entry", c->entry, entry_required, ARRAY_SIZE(entry_required), ENTRY_LOAD_PAT, &out->entry, why,
                why_size) ||
        !switchable("pin-based", c->pin, pin_switched, ARRAY_SIZE(pin_switched), why, why_size) ||
        !switchable("processor-based", c->proc, proc_switched, ARRAY_SIZE(proc_switched), why, why_size))
        return false;
    /* Off except while border control watches interrupts (vmx.c): then the exit takes the
     * interrupt, and the backend injects it together with the interrupt window. */
    if (!vmx_ctl_may_set(c->exit, EXIT_ACK_INTR_ON_EXIT) || !vmx_ctl_may_clear(c->exit, EXIT_ACK_INTR_ON_EXIT)) {
        fmt_snprintf(why, why_size,
                     "this CPU's VT-x cannot switch 'acknowledge interrupt on exit' (border control needs it)");
        return false;
    }
    /* PAT is switched on both edges or on neither. */
    if (!(out->exit & EXIT_LOAD_PAT) || !(out->entry & ENTRY_LOAD_PAT)) {
        out->exit = vmx_ctl_adjust(c->exit, out->exit & ~(u32)(EXIT_SAVE_PAT | EXIT_LOAD_PAT));
        out->entry = vmx_ctl_adjust(c->entry, out->entry & ~(u32)ENTRY_LOAD_PAT);
    }
    /* EPT (§A.10): a 4-level walk, write-back tables, and INVEPT to drop translations. */
    if (!(ept & EPT_CAP_WALK_4) || !(ept & EPT_CAP_WB)) {
        fmt_snprintf(why, why_size,
                     "this CPU's EPT lacks a 4-level walk or write-back paging structures (EPT_VPID_CAP 0x%llx)",
                     (unsigned long long)ept);
        return false;
    }
    if (!(ept & EPT_CAP_INVEPT) || !(ept & EPT_CAP_INVEPT_ALL)) {
        fmt_snprintf(why, why_size, "this CPU's EPT has no all-context INVEPT (EPT_VPID_CAP 0x%llx)",
                     (unsigned long long)ept);
        return false;
    }
    out->ept_2mb = ept & EPT_CAP_2MB;
    out->ept_1gb = (ept & EPT_CAP_1GB) && out->ept_2mb;
    out->invept_single = ept & EPT_CAP_INVEPT_SINGLE;
    /* VPIDs tag the guest's TLB entries; without INVVPID they cannot be flushed, so go without. */
    out->vpid = (out->proc2 & PROC2_ENABLE_VPID) && (ept & VPID_CAP_INVVPID);
    if (!out->vpid)
        out->proc2 &= ~(u32)PROC2_ENABLE_VPID;
    out->unrestricted = out->proc2 & PROC2_UNRESTRICTED_GUEST;
    out->mtf = vmx_ctl_may_set(c->proc, PROC_MONITOR_TRAP_FLAG) && vmx_ctl_may_clear(c->proc, PROC_MONITOR_TRAP_FLAG);
    out->preemption_timer =
        vmx_ctl_may_set(c->pin, PIN_PREEMPTION_TIMER) && vmx_ctl_may_clear(c->pin, PIN_PREEMPTION_TIMER);
    out->virtual_nmis = vmx_ctl_may_set(c->pin, PIN_NMI_EXITING) && vmx_ctl_may_set(c->pin, PIN_VIRTUAL_NMIS) &&
                        vmx_ctl_may_set(c->proc, PROC_NMI_WINDOW_EXITING) &&
                        vmx_ctl_may_clear(c->proc, PROC_NMI_WINDOW_EXITING);
    out->vmfunc_eptp = vmx_ctl_may_set(c->proc2, PROC2_ENABLE_VMFUNC) && (c->vmfunc & 1);
    /* §A.7, A.8: bits fixed to 1 (FIXED0 = 1) and to 0 (FIXED1 = 0) while in VMX operation. With
     * unrestricted guest, CR0.PE and PG are the guest's (§26.3.1.1). */
    out->cr0_fixed0 = c->cr0_fixed0 & ~(out->unrestricted ? CR0_PE_PG : 0);
    out->cr0_fixed1 = c->cr0_fixed1;
    out->cr4_fixed0 = c->cr4_fixed0;
    out->cr4_fixed1 = c->cr4_fixed1;
    return true;
}
