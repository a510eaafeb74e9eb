/* CPUID as the guest sees it. The guest must not believe it can use SVM or VMX itself (nested
 * virtualization is not offered); it is told it runs on a hypervisor (CPUID.1:ECX[31], as
 * every hypervisor does) whose signature leaf names Postern. MONITOR/MWAIT stay visible (the
 * guarded idle loop runs them natively; for everyone else they exit and are NOPs, docs/idle.md);
 * MONITORX/MWAITX are hidden, or Linux would time every udelay with them (two exits each), and so
 * is Intel PT. What Linux does with the signature: docs/msr.md. */
#include "core/cpuid_policy.h"
#include "lib/lib.h"

#define LEAF1_ECX_VMX        BIT(5)
#define LEAF1_ECX_HYPERVISOR BIT(31)
#define EXT1_ECX_SVM         BIT(2)
#define EXT1_ECX_MWAITX      BIT(29)
#define LEAF_SVM_FEATURES    0x8000000au
#define LEAF7_EBX_INTEL_PT   BIT(25)
#define LEAF1_ECX_OSXSAVE    BIT(27)
#define LEAF1_ECX_XSAVE      BIT(26)
#define LEAF7_ECX_OSPKE      BIT(4)
#define CR4_OSXSAVE          BIT(18)
#define CR4_PKE              BIT(22)

static bool kvm_leaves;

void cpuid_policy_offer_kvm_leaves(bool on) { kvm_leaves = on; }

bool cpuid_policy_wants_kvm_leaves(u64 apic_base, bool x2apic_locked)
{
    return x2apic_locked || ((apic_base & BIT(11)) && (apic_base & BIT(10))); /* EN and EXTD */
}

void cpuid_policy_apply(u32 leaf, u32 subleaf, u32 *eax, u32 *ebx, u32 *ecx, u32 *edx)
{
    switch (leaf) {
    case 1:
        *ecx &= ~(u32)LEAF1_ECX_VMX;
        *ecx |= (u32)LEAF1_ECX_HYPERVISOR;
        break;
    case 0x80000001u:
        *ecx &= ~(u32)(EXT1_ECX_SVM | EXT1_ECX_MWAITX);
        break;
    case 7:
        /* Intel PT's trace output goes to physical addresses the nested page tables do not
         * translate on most CPUs: hidden, and its MSRs fault (docs/msr.md) */
        if (subleaf == 0)
            *ebx &= ~(u32)LEAF7_EBX_INTEL_PT;
        break;
    case LEAF_SVM_FEATURES:
        *eax = *ebx = *ecx = *edx = 0;
        break;
    case CPUID_HV_LEAF:
        *eax = CPUID_HV_LEAF; /* highest hypervisor leaf */
        memcpy(ebx, CPUID_HV_SIGNATURE + 0, 4);
        memcpy(ecx, CPUID_HV_SIGNATURE + 4, 4);
        memcpy(edx, CPUID_HV_SIGNATURE + 8, 4);
        break;
    case CPUID_KVM_LEAF:
        if (!kvm_leaves) {
            *eax = *ebx = *ecx = *edx = 0;
            break;
        }
        *eax = CPUID_KVM_LEAF + 1; /* its highest leaf: the features, all 0 */
        memcpy(ebx, CPUID_KVM_SIGNATURE + 0, 4);
        memcpy(ecx, CPUID_KVM_SIGNATURE + 4, 4);
        memcpy(edx, CPUID_KVM_SIGNATURE + 8, 4);
        break;
    default:
        /* no other hypervisor interface leaves (KVM's feature leaf 4000_0101h: no features, no hints) */
        if (leaf > CPUID_HV_LEAF && leaf < 0x40010000u)
            *eax = *ebx = *ecx = *edx = 0;
        break;
    }
}

void cpuid_policy_os_bits(u32 leaf, u32 subleaf, u64 guest_cr4, u32 *ecx)
{
    if (leaf == 1)
        *ecx = (*ecx & ~(u32)LEAF1_ECX_OSXSAVE) | ((guest_cr4 & CR4_OSXSAVE) ? (u32)LEAF1_ECX_OSXSAVE : 0);
    else if (leaf == 7 && subleaf == 0)
        *ecx = (*ecx & ~(u32)LEAF7_ECX_OSPKE) | ((guest_cr4 & CR4_PKE) ? (u32)LEAF7_ECX_OSPKE : 0);
}

/* ---- The policy the guest's CR4 and XCR0 are checked against ---- */

struct cpuid_policy guest_cpuid;

static struct cpuid_out leaf(cpuid_query_fn query, u32 l, u32 sub)
{
    struct cpuid_out r = query(l, sub);
    cpuid_policy_apply(l, sub, &r.eax, &r.ebx, &r.ecx, &r.edx);
    return r;
}

void cpuid_policy_init(struct cpuid_policy *p, cpuid_query_fn query)
{
    struct cpuid_out r;

    memset(p, 0, sizeof(*p));
    p->max_basic = query(0, 0).eax;
    p->max_ext = query(0x80000000u, 0).eax;
    r = leaf(query, 1, 0);
    p->leaf1_eax = r.eax;
    p->leaf1_ecx = r.ecx & ~(u32)LEAF1_ECX_HYPERVISOR; /* the one bit the policy adds: not a feature */
    p->leaf1_edx = r.edx;
    if (p->max_basic >= 7) {
        r = leaf(query, 7, 0);
        p->leaf7_ebx = r.ebx;
        p->leaf7_ecx = r.ecx & ~(u32)LEAF7_ECX_OSPKE; /* OS-enabled bits mirror CR4, they are no feature */
        p->leaf7_edx = r.edx;
    }
    p->leaf1_ecx &= ~(u32)LEAF1_ECX_OSXSAVE;
    if (p->max_basic >= 0xd && (p->leaf1_ecx & LEAF1_ECX_XSAVE)) {
        r = leaf(query, 0xd, 0);
        p->xcr0_supported = ((u64)r.edx << 32) | r.eax;
    }
    if (p->max_ext >= 0x80000001u) {
        r = leaf(query, 0x80000001u, 0);
        p->ext1_ecx = r.ecx;
        p->ext1_edx = r.edx;
    }
}

u32 cpuid_family(u32 eax)
{
    u32 f = (eax >> 8) & 0xf;
    return f == 0xf ? f + ((eax >> 20) & 0xff) : f;
}

u32 cpuid_model(u32 eax)
{
    u32 m = (eax >> 4) & 0xf;
    u32 f = (eax >> 8) & 0xf;
    return f >= 6 ? m | (((eax >> 16) & 0xf) << 4) : m;
}

/* CR4 bits and the CPUID feature each needs (AMD APM Vol. 2 §3.1.3, Intel SDM Vol. 3A §2.5). A
 * bit whose feature the guest is not shown is reserved for it, as on a CPU without the feature. */
struct cr4_bit {
    u8 bit;
    u8 reg; /* which policy word */
    u8 feature;
    const char *name;
};
enum { W_NONE, W_1ECX, W_1EDX, W_7EBX, W_7ECX, W_7EDX, W_NEVER };

static const struct cr4_bit cr4_bits[] = {
    { 0, W_1EDX, 1, "VME" },       { 1, W_1EDX, 1, "PVI" },          { 2, W_1EDX, 4, "TSD" },
    { 3, W_1EDX, 2, "DE" },        { 4, W_1EDX, 3, "PSE" },          { 5, W_1EDX, 6, "PAE" },
    { 6, W_1EDX, 7, "MCE" },       { 7, W_1EDX, 13, "PGE" },         { 8, W_NONE, 0, "PCE" },
    { 9, W_1EDX, 24, "OSFXSR" },   { 10, W_1EDX, 25, "OSXMMEXCPT" }, { 11, W_7ECX, 2, "UMIP" },
    { 12, W_7ECX, 16, "LA57" },    { 13, W_NEVER, 0, "VMXE" },       { 14, W_1ECX, 6, "SMXE" },
    { 16, W_7EBX, 0, "FSGSBASE" }, { 17, W_1ECX, 17, "PCIDE" },      { 18, W_1ECX, 26, "OSXSAVE" },
    { 19, W_7ECX, 23, "KL" },      { 20, W_7EBX, 7, "SMEP" },        { 21, W_7EBX, 20, "SMAP" },
    { 22, W_7ECX, 3, "PKE" },      { 23, W_7ECX, 7, "CET" },         { 24, W_7ECX, 31, "PKS" },
};

static bool has(const struct cpuid_policy *p, u8 reg, u8 feature)
{
    switch (reg) {
    case W_NONE:
        return true;
    case W_1ECX:
        return p->leaf1_ecx & BIT(feature);
    case W_1EDX:
        return p->leaf1_edx & BIT(feature);
    case W_7EBX:
        return p->leaf7_ebx & BIT(feature);
    case W_7ECX:
        return p->leaf7_ecx & BIT(feature);
    case W_7EDX:
        return p->leaf7_edx & BIT(feature);
    default:
        return false;
    }
}

u64 cpuid_policy_cr4_reserved(const struct cpuid_policy *p)
{
    u64 allowed = 0;
    for (size_t i = 0; i < ARRAY_SIZE(cr4_bits); i++) {
        const struct cr4_bit *b = &cr4_bits[i];
        bool ok = has(p, b->reg, b->feature);
        if (b->bit == 23) /* CET: shadow stacks or indirect-branch tracking */
            ok = ok || (p->leaf7_edx & BIT(20));
        if (ok)
            allowed |= BIT(b->bit);
    }
    return ~allowed;
}

const char *cpuid_policy_cr4_check(const struct cpuid_policy *p, u64 cr4, int *bit)
{
    u64 bad = cr4 & cpuid_policy_cr4_reserved(p);
    if (!bad)
        return NULL;
    *bit = __builtin_ctzll(bad);
    for (size_t i = 0; i < ARRAY_SIZE(cr4_bits); i++)
        if (cr4_bits[i].bit == *bit)
            return cr4_bits[i].name;
    return "reserved";
}

#define XCR0_X87    BIT(0)
#define XCR0_SSE    BIT(1)
#define XCR0_AVX    BIT(2)
#define XCR0_MPX    (BIT(3) | BIT(4))
#define XCR0_AVX512 (BIT(5) | BIT(6) | BIT(7))
#define XCR0_AMX    (BIT(17) | BIT(18))

const char *cpuid_policy_xcr0_check(const struct cpuid_policy *p, u32 index, u64 value)
{
    if (!p->xcr0_supported)
        return "XSAVE is not offered";
    if (index != 0)
        return "only XCR0 may be written";
    if (value & ~p->xcr0_supported)
        return "a state component this CPU does not offer";
    if (!(value & XCR0_X87))
        return "x87 state (bit 0) must stay set";
    if ((value & XCR0_AVX) && !(value & XCR0_SSE))
        return "AVX (bit 2) without SSE (bit 1)";
    if ((value & XCR0_MPX) && (value & XCR0_MPX) != XCR0_MPX)
        return "MPX bits 3 and 4 differ";
    if ((value & XCR0_AVX512) && ((value & XCR0_AVX512) != XCR0_AVX512 || !(value & XCR0_AVX)))
        return "AVX-512 bits 5-7 not all set, or without AVX";
    if ((value & XCR0_AMX) && (value & XCR0_AMX) != XCR0_AMX)
        return "AMX bits 17 and 18 differ";
    return NULL;
}
