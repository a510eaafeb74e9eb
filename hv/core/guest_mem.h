/*
 * The guest's RAM as the hypervisor sees it: one contiguous host range, guest-physical 0..size.
 * Every guest-physical access by hypervisor code goes through gmem_ptr(), which checks the whole
 * range [gpa, gpa+len) lies inside guest RAM (overflow included) and returns NULL otherwise.
 */
#ifndef POSTERN_GUEST_MEM_H
#define POSTERN_GUEST_MEM_H

#include "lib/phys.h"
#include "lib/types.h"

struct guest_mem {
    u8 *hva;   /* where guest-physical 0 is mapped in the hypervisor (host-physical, identity) */
    hpa_t hpa; /* host-physical base (2 MiB aligned) */
    u64 size;  /* bytes, multiple of 2 MiB */
};

static inline void *gmem_ptr(const struct guest_mem *gm, gpa_t gpa, u64 len)
{
    if (gpa > gm->size || len > gm->size - gpa)
        return NULL;
    return gm->hva + gpa;
}

#endif
