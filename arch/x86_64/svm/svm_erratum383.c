/* AMD family 10h erratum 383: which CPUs (svm_erratum383.h); svm.c applies the workaround. */
#include "arch/x86_64/svm/svm_erratum383.h"
#include "core/cpuid_policy.h"

bool erratum383_affected(u32 leaf1_eax, bool has_osvw, u64 osvw_id_length, u64 osvw_status)
{
    if (has_osvw && ERRATUM383_OSVW_ID < osvw_id_length)
        return osvw_status & BIT(ERRATUM383_OSVW_ID);
    return cpuid_family(leaf1_eax) == 0x10; /* AMD_MODEL_RANGE(0x10, 0, 0, 0xff, 0xf): all of it */
}
