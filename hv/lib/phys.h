/* Host-physical addresses and hypervisor pointers. The hypervisor identity-maps host memory, so a
 * host-physical address is a pointer to it; host-side tests use real pointers as "physical"
 * addresses, so the same cast works there. */
#ifndef POSTERN_PHYS_H
#define POSTERN_PHYS_H

#include "lib/types.h"

static inline void *phys_to_virt(hpa_t pa) { return (void *)(uintptr_t)pa; }
static inline hpa_t virt_to_phys(const void *p) { return (hpa_t)(uintptr_t)p; }

#endif
