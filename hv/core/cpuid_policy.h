/* What the guest sees of CPUID: the host's answer minus the virtualization extensions. */
#ifndef POSTERN_CPUID_POLICY_H
#define POSTERN_CPUID_POLICY_H

#include "lib/types.h"

#define CPUID_HV_LEAF      0x40000000u
#define CPUID_HV_SIGNATURE "PosternHV\0\0\0"

/* Filter the host's CPUID result for leaf/subleaf in place. Pure: unit-tested on the host. */
void cpuid_policy_apply(u32 leaf, u32 subleaf, u32 *eax, u32 *ebx, u32 *ecx, u32 *edx);
/* CPUID's OS-enabled bits (leaf 1 ECX.OSXSAVE, leaf 7 ECX.OSPKE) mirror CR4.OSXSAVE and CR4.PKE.
 * The hypervisor executes CPUID with its own CR4: set them from the guest's (guest_cr4) instead. */
void cpuid_policy_os_bits(u32 leaf, u32 subleaf, u64 guest_cr4, u32 *ecx);

#endif
