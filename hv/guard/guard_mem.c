/* Module state for the guard (guard.h: guard_mem_alloc), from the hypervisor's page allocator:
 * whole zeroed pages, host-physical == hypervisor-virtual. The guest cannot reach them (the pool is
 * outside guest RAM and the IOMMU's maps). */
#include "guard/guard.h"
#include "lib/page_alloc.h"
#include "lib/phys.h"

void *guard_mem_alloc(u64 bytes)
{
    hpa_t pa = bytes ? page_alloc_zeroed(ALIGN_UP(bytes, PAGE_SIZE) / PAGE_SIZE) : 0;
    return pa ? phys_to_virt(pa) : NULL;
}

void guard_mem_free(void *p, u64 bytes)
{
    if (p)
        page_free(&hv_pages, (hpa_t)(uintptr_t)p, ALIGN_UP(bytes, PAGE_SIZE) / PAGE_SIZE);
}
