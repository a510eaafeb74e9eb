/* The guest-state checks VMRUN makes (AMD APM Vol. 2 §15.5.1, "Canonicalization and Consistency
 * Checks"), redone by the hypervisor when VMRUN refuses a state (VMEXIT_INVALID), so the report
 * names the field that failed. Pure: unit-tested on the host. */
#ifndef POSTERN_SVM_VMRUN_CHECK_H
#define POSTERN_SVM_VMRUN_CHECK_H

#include "lib/types.h"
#include "arch/x86_64/svm/vmcb.h"

struct svm_check_env {
    u64 cr4_reserved; /* CR4 bits the guest may not have (cpuid_policy_cr4_reserved) */
    u32 phys_bits;    /* physical-address width (CPUID 8000_0008h EAX[7:0]) */
    bool long_mode;   /* CPUID 8000_0001h EDX.LM */
    u64 efer_allowed; /* EFER bits this CPU implements */
};

/* NULL when every check passes; else the failing field and why, written to buf. */
const char *svm_vmrun_check(const struct vmcb *vmcb, const struct svm_check_env *env, char *buf, size_t size);

#endif
