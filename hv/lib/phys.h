/* Host-physical addresses and hypervisor pointers. */
#ifndef POSTERN_PHYS_H
#define POSTERN_PHYS_H

#include "lib/types.h"

/* Host-physical to hypervisor pointer: the hypervisor identity-maps host memory. Host-side tests
 * use real pointers as "physical" addresses, so the same cast works there. */
static inline void *phys_to_virt(hpa_t pa) { return (void *)(uintptr_t)pa; }
static inline hpa_t virt_to_phys(const void *p) { return (hpa_t)(uintptr_t)p; }

#endif
