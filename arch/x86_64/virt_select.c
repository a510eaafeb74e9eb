/* Which virtualization backend this CPU gets: AMD and Hygon parts SVM, Intel parts VT-x (by the
 * CPUID vendor string; each backend's probe then checks the features it needs). */
#include "core/vcpu.h"
#include "arch/x86_64/cpu.h"
#include "lib/lib.h"

static bool is_intel(void)
{
    char vendor[13];
    cpu_vendor(vendor);
    return !strcmp(vendor, "GenuineIntel");
}

const struct vcpu_ops *virt_backend(void) { return is_intel() ? &vmx_vcpu_ops : &svm_vcpu_ops; }

/* The loader asks before ExitBootServices (hv/core/virt.h). */
bool virt_probe(struct virt_caps *caps, char *why, size_t why_size)
{
    return virt_backend()->probe(caps, why, why_size);
}
