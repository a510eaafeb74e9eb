/* What the CPU offers for virtualization, asked before ExitBootServices so the loader can refuse
 * to start on a machine that cannot run Postern and say why. */
#ifndef POSTERN_VIRT_H
#define POSTERN_VIRT_H

#include "lib/types.h"

struct virt_caps {
    char vendor[13]; /* CPUID vendor string */
    bool svm;        /* AMD SVM present and enabled */
    bool vmx;        /* Intel VT-x present and enabled (then nested_paging means EPT) */
    bool vpid;       /* VT-x: TLB entries tagged per guest */
    bool unrestricted_guest;
    bool nested_paging;
    bool nrip_save;
    bool vmcb_clean;
    bool flush_by_asid;
    bool vgif;
    u32 asid_count;
};

/* Returns true when the CPU can run Postern; otherwise false with a one-line reason in why. */
bool virt_probe(struct virt_caps *caps, char *why, size_t why_size);

#endif
