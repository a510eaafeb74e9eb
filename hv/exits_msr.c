/*
 * RDMSR and WRMSR exits: the MSR policy (hv/core/msr_policy.c, docs/msr.md) carried out. Every access
 * the hypervisor makes on the guest's behalf goes through msr_read_safe/msr_write_safe, so an MSR the
 * machine lacks or a value it refuses gives the guest its #GP instead of stopping the hypervisor.
 */
#include "exits_msr.h"
#include "apic_trap.h"
#include "exits.h"

#define DC_CFG_ERRATUM383_BIT BIT(47) /* the workaround bit (arch/x86_64/svm/svm_erratum383.h) */
#include "arch/x86_64/cpu.h"
#include "core/msr_policy.h"
#include "lib/lib.h"
#include "lib/log.h"

/* EFER bits a guest may set (AMD APM Vol. 2 §3.1.7); anything else is #GP, as on hardware. */
#define EFER_GUEST_WRITABLE                                                                                            \
    (EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE | EFER_SVME | BIT(13) | BIT(14) | BIT(15) | BIT(21))
#define VM_CR_LOCK             BIT(3)
#define VM_CR_SVMDIS           BIT(4)
#define FEATURE_CONTROL_LOCKED BIT(0)
#define MSR_MTRRCAP            0xfeu
#define MTRRCAP_FIX            BIT(8)
#define MSR_APIC_BASE          0x1bu
#define LEAF1_ECX_X2APIC       BIT(21)

static enum msr_vendor vendor(void)
{
    static int known = -1;
    char v[13];

    if (known < 0) {
        cpu_vendor(v);
        known = msr_vendor_of(v);
    }
    return (enum msr_vendor)known;
}

/* CPUID 8000_0008h EAX[7:0], 36 where the leaf is missing (Intel SDM Vol. 3A §4.1.4). */
static unsigned maxphyaddr(void)
{
    if (cpuid(0x80000000u, 0).eax >= 0x80000008u)
        return cpuid(0x80000008u, 0).eax & 0xff;
    return 36;
}

static void set_edx_eax(struct vcpu *v, u64 value)
{
    v->regs[REG_RAX] = (u32)value;
    v->regs[REG_RDX] = (u32)(value >> 32);
}

static bool gp(struct vcpu *v)
{
    vcpu_inject_exception(v, VEC_GP, true, 0);
    return false;
}

static const char *rule_name(const struct msr_rule *r) { return r ? r->name : "an MSR no rule names"; }

static bool refuse_with_gp(struct vcpu *v, const struct msr_rule *r, u32 msr, bool write, u64 value)
{
    static u64 refused;
    if (write)
        LOG_RATELIMITED(refused, 16,
                        "msr: guest write 0x%llx to %s (MSR 0x%x) at rip 0x%llx: refused, #GP (%llu so far)",
                        (unsigned long long)value, rule_name(r), msr, (unsigned long long)v->regs[REG_RIP],
                        (unsigned long long)refused);
    else
        LOG_RATELIMITED(refused, 16, "msr: guest read of %s (MSR 0x%x) at rip 0x%llx: refused, #GP (%llu so far)",
                        rule_name(r), msr, (unsigned long long)v->regs[REG_RIP], (unsigned long long)refused);
    return gp(v);
}

/* After a write the machine did not take: the value it still holds (or, for a write-only loader, the
 * revision its witness MSR reports), read back now, for the log. */
static void log_kept(u64 *counter, struct vcpu *v, const struct msr_rule *r, u32 msr, u64 value, const char *what)
{
    u32 witness = r->witness ? r->witness : msr;
    u64 now = 0;
    bool readable = msr_read_safe(witness, &now);

    LOG_RATELIMITED(*counter, 16,
                    "msr: guest write 0x%llx to %s (MSR 0x%x) at rip 0x%llx: %s; the machine's MSR 0x%x is %s0x%llx "
                    "after (%llu so far)",
                    (unsigned long long)value, r->name, msr, (unsigned long long)v->regs[REG_RIP], what, witness,
                    readable ? "" : "unreadable, ", (unsigned long long)now, (unsigned long long)*counter);
}

/* ---- HWCR (AMD C001_0015h) ---- */

/*
 * HWCR is per core but configures the core for the hypervisor as much as for the guest: INVDWBINVD
 * (bit 4) decides whether INVD throws dirty lines away (the VMCB, the nested page tables, the
 * IOMMU's tables), SmmLock, TlbCacheDis, MonMwaitDis/UserEn, Wrap32Dis, McStatusWrEn (forged
 * machine-check status), LockTscToCurrentP0, CpbDis and the rest are the machine's. The guest may
 * change only IRPerfEn (bit 30: the instructions-retired counter, its own performance monitoring).
 * For every other bit the hardware keeps the host's value and the guest reads back what it last
 * wrote: safe, since INVD is intercepted and always done as WBINVD, which is what either
 * INVDWBINVD setting permits, and the other bits only change what the guest would see from its own
 * configuration (docs/events.md).
 */
#define HWCR_GUEST_WRITABLE BIT(30)
static bool hwcr_written;
static u64 hwcr_guest;

static u64 hwcr_read(void)
{
    u64 real = rdmsr(MSR_HWCR);
    return hwcr_written ? (real & HWCR_GUEST_WRITABLE) | (hwcr_guest & ~HWCR_GUEST_WRITABLE) : real;
}

static void hwcr_write(struct vcpu *v, u64 value)
{
    static u64 refused;
    u64 real = rdmsr(MSR_HWCR);
    u64 kept = (value ^ real) & ~HWCR_GUEST_WRITABLE;

    hwcr_written = true;
    hwcr_guest = value;
    if ((real & HWCR_GUEST_WRITABLE) != (value & HWCR_GUEST_WRITABLE))
        wrmsr(MSR_HWCR, (real & ~HWCR_GUEST_WRITABLE) | (value & HWCR_GUEST_WRITABLE));
    if (kept)
        LOG_RATELIMITED(refused, 16,
                        "guest HWCR write 0x%llx at rip 0x%llx: bits 0x%llx%s stay the host's (0x%llx); the guest "
                        "reads back what it wrote; the machine's HWCR is 0x%llx after (%llu so far)",
                        (unsigned long long)value, (unsigned long long)v->regs[REG_RIP], (unsigned long long)kept,
                        (kept & HWCR_INVDWBINVD) ? " (INVDWBINVD among them)" : "", (unsigned long long)real,
                        (unsigned long long)rdmsr(MSR_HWCR), (unsigned long long)refused);
}

/* ---- IA32_APIC_BASE: the guest's own APIC mode, never its address ---- */

static bool apic_base_write(struct vcpu *v, const struct msr_rule *r, u64 want)
{
    static u64 moved;
    u64 now, out = 0;
    bool x2apic = cpuid(1, 0).ecx & LEAF1_ECX_X2APIC;

    if (!msr_read_safe(MSR_APIC_BASE, &now))
        return gp(v);
    switch (msr_apic_base_check(now, want, maxphyaddr(), x2apic, &out)) {
    case APIC_BASE_OK:
        /* the hardware has the last word (a locked x2APIC refuses to leave x2APIC mode) */
        return msr_write_safe(MSR_APIC_BASE, out) ? true : refuse_with_gp(v, r, MSR_APIC_BASE, true, want);
    case APIC_BASE_MOVED:
        /* An APIC moved over other memory would shadow it for the hypervisor too. */
        log_kept(&moved, v, r, MSR_APIC_BASE, want, "refused (the APIC does not move)");
        return true;
    case APIC_BASE_FAULT:
    default:
        return refuse_with_gp(v, r, MSR_APIC_BASE, true, want);
    }
}

/* ---- emulated MSRs ---- */

static bool emulated_read(struct vcpu *v, const struct msr_rule *r, u32 msr)
{
    u64 value;

    switch (r->special) {
    case MSR_SPECIAL_EFER:
        set_edx_eax(v, vcpu_ops->efer(v) & ~EFER_SVME); /* the guest must not see SVM on */
        return true;
    case MSR_SPECIAL_VM_CR:
        set_edx_eax(v, VM_CR_SVMDIS | VM_CR_LOCK); /* what a guest sees where firmware turned SVM off */
        return true;
    case MSR_SPECIAL_VM_HSAVE_PA:
        set_edx_eax(v, 0);
        return true;
    case MSR_SPECIAL_FEATURE_CONTROL:
        set_edx_eax(v, FEATURE_CONTROL_LOCKED); /* locked with VMX off, as where firmware turned VT-x off */
        return true;
    case MSR_SPECIAL_HWCR:
        set_edx_eax(v, hwcr_read());
        return true;
    default:
        /* what the guest last wrote; before that, the machine's own value */
        if (!msr_shadow_get(msr, &value) && !msr_read_safe(msr, &value))
            return gp(v);
        set_edx_eax(v, value);
        return true;
    }
}

static bool emulated_write(struct vcpu *v, const struct msr_rule *r, u32 msr, u64 value)
{
    static u64 emulated, full;
    u64 now, cap;

    /* The hardware's checks first: an MSR the machine lacks, a value it would refuse, is #GP. */
    if (!msr_read_safe(msr, &now))
        return refuse_with_gp(v, r, msr, true, value);
    if (r->special == MSR_SPECIAL_MTRR &&
        (!msr_read_safe(MSR_MTRRCAP, &cap) ||
         !msr_mtrr_write_ok(msr, value, maxphyaddr(), (unsigned)(cap & 0xff), cap & MTRRCAP_FIX)))
        return refuse_with_gp(v, r, msr, true, value);
    if (!msr_shadow_set(msr, value)) {
        log_kept(&full, v, r, msr, value, "dropped (no room left to emulate it)");
        return true;
    }
    /* Logged where the guest asked for a change the machine did not take (Linux's boot writes
     * back the machine's own MCi_CTL values: no line for those). */
    if (value != now)
        log_kept(&emulated, v, r, msr, value, "emulated (the guest reads back what it wrote)");
    return true;
}

static bool filtered_write(struct vcpu *v, const struct msr_rule *r, u32 msr, u64 value)
{
    switch (r->special) {
    case MSR_SPECIAL_EFER:
        if (value & ~EFER_GUEST_WRITABLE)
            return gp(v);
        vcpu_ops->set_efer(v, value);
        return true;
    case MSR_SPECIAL_HWCR:
        hwcr_write(v, value);
        return true;
    case MSR_SPECIAL_APIC_BASE:
        return apic_base_write(v, r, value);
    case MSR_SPECIAL_X2APIC_ICR:
        return apic_trap_icr_msr(v, value);
    case MSR_SPECIAL_DC_CFG: {
        u64 now;
        if (!exits_dc_cfg_guarded)
            return msr_write_safe(msr, value) ? true : gp(v);
        if (!msr_read_safe(msr, &now))
            return gp(v);
        return msr_write_safe(msr, value | (now & DC_CFG_ERRATUM383_BIT)) ? true : gp(v);
    }
    default:
        return refuse_with_gp(v, r, msr, true, value); /* a filter rule without its filter: a table bug */
    }
}

bool exits_msr(struct vcpu *v, bool write)
{
    static u64 dropped;
    u32 msr = (u32)v->regs[REG_RCX];
    u64 value = ((v->regs[REG_RDX] & 0xffffffffu) << 32) | (v->regs[REG_RAX] & 0xffffffffu);
    const struct msr_rule *r = msr_rule_find(msr, vendor());
    u64 got;

    /* No rule: only MSRs outside the bitmaps' ranges exit (every access to them does); behave as a
     * CPU without them. */
    if (!r)
        return refuse_with_gp(v, r, msr, write, value);
    if (!write) {
        switch (r->read) {
        case MSR_READ_PASS: /* an MSR outside the bitmaps, or one whose write alone is watched */
            if (!msr_read_safe(msr, &got))
                return gp(v);
            set_edx_eax(v, got);
            return true;
        case MSR_READ_EMULATE:
            return emulated_read(v, r, msr);
        default:
            return refuse_with_gp(v, r, msr, false, 0);
        }
    }
    switch (r->write) {
    case MSR_WRITE_PASS:
        return msr_write_safe(msr, value) ? true : gp(v);
    case MSR_WRITE_EMULATE:
        return emulated_write(v, r, msr, value);
    case MSR_WRITE_FILTER:
        return filtered_write(v, r, msr, value);
    case MSR_WRITE_DROP:
        log_kept(&dropped, v, r, msr, value, "refused (dropped)");
        return true;
    default:
        return refuse_with_gp(v, r, msr, true, value);
    }
}
