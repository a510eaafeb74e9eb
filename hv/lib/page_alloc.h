/* The hypervisor's physical page allocator: one region (boot_info's pool), a bitmap kept in the
 * region's own first pages, first-fit contiguous allocation starting from where the last one ended.
 * Host-physical == hypervisor-virtual. No locking: callers serialise. */
#ifndef POSTERN_PAGE_ALLOC_H
#define POSTERN_PAGE_ALLOC_H

#include "lib/types.h"

struct page_pool {
    hpa_t base; /* first page handed out (after the bitmap) */
    u64 npages; /* pages handed out from base */
    u8 *bitmap; /* one bit per page, 1 = allocated */
    u64 free;
    u64 hint; /* next-fit start */
};

extern struct page_pool hv_pages;

void page_alloc_init(struct page_pool *p, hpa_t base, u64 size);
/* npages contiguous pages aligned to align_pages pages, zero-filled; 0 when impossible. */
hpa_t page_alloc(struct page_pool *p, u64 npages, u64 align_pages);
/* Returns false (and changes nothing) for pages outside the pool or not allocated. */
bool page_free(struct page_pool *p, hpa_t pa, u64 npages);
u64 page_pool_free_count(const struct page_pool *p);

/* npages zeroed pages from the hypervisor's pool; 0 when out of memory. */
static inline hpa_t page_alloc_zeroed(u64 npages) { return page_alloc(&hv_pages, npages, 1); }

#endif
