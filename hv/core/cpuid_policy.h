/* What the guest sees of CPUID: the host's answer minus the virtualization extensions. */
#ifndef POSTERN_CPUID_POLICY_H
#define POSTERN_CPUID_POLICY_H

#include "lib/types.h"

#define CPUID_HV_LEAF      0x40000000u
#define CPUID_HV_SIGNATURE "PosternHV\0\0\0"

/* A KVM-compatible leaf block (signature "KVMKVMKVM\0\0\0", no features) at 4000_0100h, offered only
 * where the firmware handed the APIC over in x2APIC mode: Linux keeps x2APIC without interrupt
 * remapping only under a hypervisor it knows (docs/msr.md, "x2APIC"). Linux finds it by scanning
 * every 100h from 4000_0000h; Postern's own block stays at 4000_0000h. */
#define CPUID_KVM_LEAF      0x40000100u
#define CPUID_KVM_SIGNATURE "KVMKVMKVM\0\0\0"
void cpuid_policy_offer_kvm_leaves(bool on);
/* Should the KVM-compatible block be offered? The APIC mode the firmware left (IA32_APIC_BASE) and
 * whether x2APIC is locked (IA32_XAPIC_DISABLE_STATUS bit 0). Pure. */
bool cpuid_policy_wants_kvm_leaves(u64 apic_base, bool x2apic_locked);

/* Filter the host's CPUID result for leaf/subleaf in place. Pure: unit-tested on the host. */
void cpuid_policy_apply(u32 leaf, u32 subleaf, u32 *eax, u32 *ebx, u32 *ecx, u32 *edx);
/* CPUID's OS-enabled bits (leaf 1 ECX.OSXSAVE, leaf 7 ECX.OSPKE) mirror CR4.OSXSAVE and CR4.PKE.
 * The hypervisor executes CPUID with its own CR4: set them from the guest's (guest_cr4) instead. */
void cpuid_policy_os_bits(u32 leaf, u32 subleaf, u64 guest_cr4, u32 *ecx);

/* The feature leaves the guest is shown, taken once from the CPU's own leaves through
 * cpuid_policy_apply (so masked, never added to): what the guest's CR4 and XCR0 are checked
 * against. */
struct cpuid_policy {
    u32 max_basic, max_ext;
    u32 leaf1_eax, leaf1_ecx, leaf1_edx;
    u32 leaf7_ebx, leaf7_ecx, leaf7_edx;
    u32 ext1_ecx, ext1_edx;
    u64 xcr0_supported; /* leaf 0Dh.0 EDX:EAX; 0 without XSAVE */
};
struct cpuid_out {
    u32 eax, ebx, ecx, edx;
};
typedef struct cpuid_out (*cpuid_query_fn)(u32 leaf, u32 subleaf);

/* The guest's policy (hv_main fills it from the CPU before the guest starts). */
extern struct cpuid_policy guest_cpuid;

void cpuid_policy_init(struct cpuid_policy *p, cpuid_query_fn query);
/* CR4 bits the guest may not set: architecturally reserved, or naming a feature it is not shown
 * (e.g. OSXSAVE without CPUID 1 ECX.XSAVE, VMXE always). */
u64 cpuid_policy_cr4_reserved(const struct cpuid_policy *p);
/* NULL when the guest may load cr4; else the name of the first bit it may not set (its bit in *bit). */
const char *cpuid_policy_cr4_check(const struct cpuid_policy *p, u64 cr4, int *bit);
/* XSETBV's own checks (Intel SDM Vol. 2D, AMD APM Vol. 3 "XSETBV") against the policy: NULL when
 * XCR[index] = value is allowed, else why it raises #GP. */
const char *cpuid_policy_xcr0_check(const struct cpuid_policy *p, u32 index, u64 value);
/* Family, model and stepping as Linux computes them from leaf 1 EAX. */
u32 cpuid_family(u32 leaf1_eax);
u32 cpuid_model(u32 leaf1_eax);

#endif
