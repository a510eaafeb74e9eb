/* What the guest sees of CPUID: the host's answer minus the virtualization extensions. */
#ifndef POSTERN_CPUID_POLICY_H
#define POSTERN_CPUID_POLICY_H

#include "types.h"

#define CPUID_HV_LEAF 0x40000000u
#define CPUID_HV_SIGNATURE "PosternHV\0\0\0"

/* Filter the host's CPUID result for leaf/subleaf in place. Pure: unit-tested on the host. */
void cpuid_policy_apply(u32 leaf, u32 subleaf, u32 *eax, u32 *ebx, u32 *ecx, u32 *edx);

#endif
