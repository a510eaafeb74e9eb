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
