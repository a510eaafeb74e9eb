/*
 * The MSR policy table (see msr_policy.h; docs/msr.md explains every row). The first rule that
 * covers an MSR decides, so a narrower rule (MCi_CTL) sits before a wider one (the MCA banks).
 */
#include "core/msr_policy.h"
#include "lib/lib.h"

#define R_PASS    MSR_READ_PASS
#define R_EMULATE MSR_READ_EMULATE
#define R_FAULT   MSR_READ_FAULT
#define W_PASS    MSR_WRITE_PASS
#define W_EMULATE MSR_WRITE_EMULATE
#define W_FILTER  MSR_WRITE_FILTER
#define W_DROP    MSR_WRITE_DROP
#define W_FAULT   MSR_WRITE_FAULT

/* clang-format off */
#define ONE(msr, name, vendor, r, w)         { msr, msr, 1, name, vendor, r, w, MSR_SPECIAL_NONE, 0 }
#define RANGE(a, b, name, vendor, r, w)      { a, b, 1, name, vendor, r, w, MSR_SPECIAL_NONE, 0 }
#define SPECIAL(a, b, name, vendor, r, w, s) { a, b, 1, name, vendor, r, w, s, 0 }
/* clang-format on */

#define MSR_PATCH_LEVEL 0x8bu /* Intel IA32_BIOS_SIGN_ID, AMD PATCH_LEVEL: the microcode revision */

const struct msr_rule msr_rules[] = {
    /* time */
    ONE(0x10, "TSC", MSR_ANY, R_PASS, W_DROP),
    ONE(0x3b, "TSC_ADJUST", MSR_ANY, R_EMULATE, W_EMULATE),
    /* the local APIC */
    SPECIAL(0x1b, 0x1b, "APIC_BASE", MSR_ANY, R_PASS, W_FILTER, MSR_SPECIAL_APIC_BASE),
    SPECIAL(0x830, 0x830, "x2APIC ICR", MSR_ANY, R_PASS, W_FILTER, MSR_SPECIAL_X2APIC_ICR),
    RANGE(0x800, 0x8ff, "x2APIC registers", MSR_ANY, R_PASS, W_PASS),
    /* virtualization: the guest sees none */
    SPECIAL(0x3a, 0x3a, "FEATURE_CONTROL", MSR_INTEL, R_EMULATE, W_FAULT, MSR_SPECIAL_FEATURE_CONTROL),
    RANGE(0x480, 0x491, "VMX capabilities", MSR_INTEL, R_FAULT, W_FAULT),
    SPECIAL(0xc0000080u, 0xc0000080u, "EFER", MSR_ANY, R_EMULATE, W_FILTER, MSR_SPECIAL_EFER),
    ONE(0xc0000104u, "TSC_RATIO", MSR_AMD, R_FAULT, W_FAULT),
    SPECIAL(0xc0010114u, 0xc0010114u, "VM_CR", MSR_AMD, R_EMULATE, W_DROP, MSR_SPECIAL_VM_CR),
    SPECIAL(0xc0010117u, 0xc0010117u, "VM_HSAVE_PA", MSR_AMD, R_EMULATE, W_DROP, MSR_SPECIAL_VM_HSAVE_PA),
    ONE(0xc0010118u, "SVM_KEY", MSR_AMD, R_PASS, W_DROP),
    /* microcode */
    { 0x79, 0x79, 1, "BIOS_UPDT_TRIG (microcode loader)", MSR_INTEL, R_PASS, W_DROP, MSR_SPECIAL_NONE,
      MSR_PATCH_LEVEL },
    ONE(MSR_PATCH_LEVEL, "BIOS_SIGN_ID / PATCH_LEVEL", MSR_ANY, R_PASS, W_PASS),
    { 0xc0010020u, 0xc0010020u, 1, "PATCH_LOADER (microcode loader)", MSR_AMD, R_PASS, W_DROP, MSR_SPECIAL_NONE,
      MSR_PATCH_LEVEL },
    /* SMM */
    ONE(0x9b, "SMM_MONITOR_CTL", MSR_INTEL, R_PASS, W_DROP),
    ONE(0x9e, "SMBASE", MSR_INTEL, R_FAULT, W_FAULT),
    RANGE(0x1f2, 0x1f3, "SMRR_PHYSBASE/MASK", MSR_INTEL, R_FAULT, W_FAULT),
    RANGE(0xc0010050u, 0xc0010056u, "SMI on I/O trap, SMI trigger", MSR_AMD, R_PASS, W_DROP),
    RANGE(0xc0010111u, 0xc0010113u, "SMM_BASE, SMM_ADDR, SMM_MASK", MSR_AMD, R_PASS, W_DROP),
    ONE(0xc0010116u, "SMM_CTL", MSR_AMD, R_PASS, W_DROP),
    /* memory types and the memory map */
    ONE(0xfe, "MTRRcap", MSR_ANY, R_PASS, W_PASS),
    SPECIAL(0x200, 0x21f, "MTRR variable ranges", MSR_ANY, R_EMULATE, W_EMULATE, MSR_SPECIAL_MTRR),
    SPECIAL(0x250, 0x250, "MTRR fixed 64K", MSR_ANY, R_EMULATE, W_EMULATE, MSR_SPECIAL_MTRR),
    SPECIAL(0x258, 0x259, "MTRR fixed 16K", MSR_ANY, R_EMULATE, W_EMULATE, MSR_SPECIAL_MTRR),
    SPECIAL(0x268, 0x26f, "MTRR fixed 4K", MSR_ANY, R_EMULATE, W_EMULATE, MSR_SPECIAL_MTRR),
    ONE(0x277, "PAT", MSR_ANY, R_PASS, W_PASS),
    SPECIAL(0x2ff, 0x2ff, "MTRRdefType", MSR_ANY, R_EMULATE, W_EMULATE, MSR_SPECIAL_MTRR),
    ONE(0xc0010010u, "SYSCFG", MSR_AMD, R_PASS, W_DROP),
    RANGE(0xc0010016u, 0xc0010019u, "IORR base/mask", MSR_AMD, R_PASS, W_DROP),
    ONE(0xc001001au, "TOP_MEM", MSR_AMD, R_PASS, W_DROP),
    ONE(0xc001001du, "TOM2", MSR_AMD, R_PASS, W_DROP),
    ONE(0xc001001fu, "NB_CFG", MSR_AMD, R_PASS, W_DROP),
    ONE(0xc0010058u, "MMIO_CONF_BASE (ECAM)", MSR_AMD, R_PASS, W_DROP),
    /* the core's configuration */
    SPECIAL(0xc0010015u, 0xc0010015u, "HWCR", MSR_AMD, R_EMULATE, W_FILTER, MSR_SPECIAL_HWCR),
    ONE(0x1a0, "MISC_ENABLE", MSR_INTEL, R_EMULATE, W_EMULATE),
    RANGE(0xc0011004u, 0xc0011005u, "CPUID feature overrides", MSR_AMD, R_PASS, W_DROP),
    SPECIAL(0xc0011022u, 0xc0011022u, "DC_CFG", MSR_AMD, R_PASS, W_FILTER, MSR_SPECIAL_DC_CFG),
    /* machine checks */
    ONE(0x179, "MCG_CAP", MSR_ANY, R_PASS, W_PASS),
    ONE(0x17a, "MCG_STATUS", MSR_ANY, R_PASS, W_PASS),
    ONE(0x17b, "MCG_CTL", MSR_ANY, R_EMULATE, W_EMULATE),
    { 0x400, 0x47c, 4, "MCi_CTL", MSR_ANY, R_EMULATE, W_EMULATE, MSR_SPECIAL_NONE, 0 },
    RANGE(0x400, 0x47f, "MCi_STATUS, MCi_ADDR, MCi_MISC", MSR_ANY, R_PASS, W_PASS),
    { 0xc0002000u, 0xc00023f0u, 0x10, "SMCA MCA_CTL", MSR_AMD, R_EMULATE, W_EMULATE, MSR_SPECIAL_NONE, 0 },
    RANGE(0xc0002000u, 0xc0002fffu, "SMCA bank registers", MSR_AMD, R_PASS, W_PASS),
    /* tracing and sampling that write memory */
    ONE(0x3f1, "PEBS_ENABLE", MSR_INTEL, R_PASS, W_DROP),
    ONE(0x600, "DS_AREA", MSR_INTEL, R_PASS, W_DROP),
    RANGE(0x560, 0x58f, "Intel PT (RTIT_*)", MSR_INTEL, R_FAULT, W_FAULT),
};
const unsigned msr_rule_count = sizeof(msr_rules) / sizeof(msr_rules[0]);

static bool rule_covers(const struct msr_rule *r, u32 msr)
{
    return msr >= r->first && msr <= r->last && (msr - r->first) % r->step == 0;
}

const struct msr_rule *msr_rule_find(u32 msr, enum msr_vendor vendor)
{
    for (unsigned i = 0; i < msr_rule_count; i++) {
        const struct msr_rule *r = &msr_rules[i];
        if ((r->vendor == MSR_ANY || r->vendor == vendor) && rule_covers(r, msr))
            return r;
    }
    return NULL;
}

void msr_policy_for_each_intercept(enum msr_vendor vendor, void (*set)(void *ctx, u32 msr, bool read, bool write),
                                   void *ctx)
{
    for (unsigned i = 0; i < msr_rule_count; i++) {
        const struct msr_rule *r = &msr_rules[i];
        if (r->vendor != MSR_ANY && r->vendor != vendor)
            continue;
        if (r->read == MSR_READ_PASS && r->write == MSR_WRITE_PASS)
            continue;
        for (u64 m = r->first; m <= r->last; m += r->step)
            if (msr_rule_find((u32)m, vendor) == r) /* an earlier rule decides for this one */
                set(ctx, (u32)m, r->read != MSR_READ_PASS, r->write != MSR_WRITE_PASS);
    }
}

enum msr_vendor msr_vendor_of(const char *v)
{
    return (!strcmp(v, "AuthenticAMD") || !strcmp(v, "HygonGenuine")) ? MSR_AMD : MSR_INTEL;
}

const char *msr_read_name(enum msr_read r)
{
    static const char *const n[] = { "pass", "emulate", "fault" };
    return r <= MSR_READ_FAULT ? n[r] : "?";
}

const char *msr_write_name(enum msr_write w)
{
    static const char *const n[] = { "pass", "emulate", "filter", "drop", "fault" };
    return w <= MSR_WRITE_FAULT ? n[w] : "?";
}

const char *msr_vendor_name(enum msr_vendor v)
{
    static const char *const n[] = { "any", "AMD", "Intel" };
    return v <= MSR_INTEL ? n[v] : "?";
}

/* ---- the values emulated MSRs hold for the guest ---- */

static struct {
    u32 msr;
    u64 value;
} shadow[MSR_SHADOW_MAX];
static unsigned shadow_count;

bool msr_shadow_get(u32 msr, u64 *value)
{
    for (unsigned i = 0; i < shadow_count; i++)
        if (shadow[i].msr == msr) {
            *value = shadow[i].value;
            return true;
        }
    return false;
}

bool msr_shadow_set(u32 msr, u64 value)
{
    for (unsigned i = 0; i < shadow_count; i++)
        if (shadow[i].msr == msr) {
            shadow[i].value = value;
            return true;
        }
    if (shadow_count == MSR_SHADOW_MAX)
        return false;
    shadow[shadow_count].msr = msr;
    shadow[shadow_count].value = value;
    shadow_count++;
    return true;
}

void msr_shadow_reset(void) { shadow_count = 0; }

/* ---- MTRRs ---- */

#define MTRR_DEF_TYPE 0x2ffu
#define MTRR_VAR_BASE 0x200u
#define MTRR_VAR_END  0x21fu

static bool mtrr_type_ok(u64 t) { return t == 0 || t == 1 || t == 4 || t == 5 || t == 6; }

static bool mtrr_is_fixed(u32 msr)
{
    return msr == 0x250 || msr == 0x258 || msr == 0x259 || (msr >= 0x268 && msr <= 0x26f);
}

bool msr_mtrr_write_ok(u32 msr, u64 value, unsigned maxphyaddr, unsigned vcnt, bool fixed)
{
    u64 above_phys = maxphyaddr >= 64 ? 0 : ~0ull << maxphyaddr;

    if (msr == MTRR_DEF_TYPE) /* type in 7:0, FE bit 10, E bit 11 */
        return !(value & ~0xcffull) && mtrr_type_ok(value & 0xff);
    if (msr >= MTRR_VAR_BASE && msr <= MTRR_VAR_END) {
        if ((msr - MTRR_VAR_BASE) / 2 >= vcnt)
            return false;                   /* a pair this CPU does not have */
        if ((msr - MTRR_VAR_BASE) % 2 == 0) /* PHYSBASE: type 7:0, 11:8 reserved */
            return !(value & (0xf00ull | above_phys)) && mtrr_type_ok(value & 0xff);
        return !(value & (0x7ffull | above_phys)); /* PHYSMASK: V bit 11, 10:0 reserved */
    }
    if (mtrr_is_fixed(msr)) {
        if (!fixed)
            return false;
        for (int i = 0; i < 64; i += 8)
            if (!mtrr_type_ok((value >> i) & 0xff))
                return false;
        return true;
    }
    return false;
}

/* ---- IA32_APIC_BASE ---- */

enum apic_mode { APIC_DISABLED, APIC_XAPIC, APIC_X2APIC, APIC_INVALID };

static enum apic_mode apic_mode(u64 v)
{
    bool en = v & APIC_BASE_EN, extd = v & APIC_BASE_EXTD;
    return en ? (extd ? APIC_X2APIC : APIC_XAPIC) : (extd ? APIC_INVALID : APIC_DISABLED);
}

enum apic_base_verdict msr_apic_base_check(u64 now, u64 want, unsigned maxphyaddr, bool has_x2apic, u64 *out)
{
    u64 above_phys = maxphyaddr >= 64 ? 0 : ~0ull << maxphyaddr;
    u64 reserved = 0xffull | BIT(9) | above_phys | (has_x2apic ? 0 : APIC_BASE_EXTD);
    u64 base_mask = ~0xfffull & ~above_phys;
    enum apic_mode from = apic_mode(now), to = apic_mode(want);

    if (want & reserved)
        return APIC_BASE_FAULT;
    if (to == APIC_INVALID || (from == APIC_X2APIC && to == APIC_XAPIC) || (from == APIC_DISABLED && to == APIC_X2APIC))
        return APIC_BASE_FAULT;
    if ((want & base_mask) != (now & base_mask))
        return APIC_BASE_MOVED;
    *out = (want & ~APIC_BASE_BSP) | (now & APIC_BASE_BSP);
    return APIC_BASE_OK;
}
