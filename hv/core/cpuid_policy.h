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

#endif
