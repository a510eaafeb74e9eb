/* AMD family 10h erratum 383 (Revision Guide for AMD Family 10h Processors, #41322): with nested
 * paging, a guest TLB multi-match on 2 MiB pages can raise an uncorrectable machine check. Linux
 * (arch/x86/kernel/cpu/amd.c, amd_erratum_383) and KVM (svm.c, svm_init_erratum_383) decide and
 * work around it as here. Pure model check: unit-tested on the host. */
#ifndef POSTERN_SVM_ERRATUM383_H
#define POSTERN_SVM_ERRATUM383_H

#include "lib/types.h"

#define ERRATUM383_OSVW_ID   3
#define MSR_OSVW_ID_LENGTH   0xc0010140u
#define MSR_OSVW_STATUS      0xc0010141u
#define MSR_AMD64_DC_CFG     0xc0011022u
#define DC_CFG_ERRATUM383_WA BIT(47) /* the workaround bit KVM sets */

/* Is this CPU affected? OSVW decides where the CPU has it (CPUID 8000_0001h ECX[9]) and knows
 * the erratum's ID (ID_Length > 3); otherwise every family 10h part is, as Linux assumes. */
bool erratum383_affected(u32 leaf1_eax, bool has_osvw, u64 osvw_id_length, u64 osvw_status);

#endif
