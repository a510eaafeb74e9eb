/*
 * The guest's RAM as the hypervisor sees it. Memory is identity-mapped (guest-physical =
 * host-physical, docs/guest-boot.md "Memory model"): the guest's RAM is the machine's, a sorted
 * list of ranges (usable RAM, ACPI tables and NVS) that excludes every page of the hypervisor's.
 * Every guest-physical access by hypervisor code goes through gmem_ptr(), which checks that the
 * whole range [gpa, gpa+len) lies inside one of them (overflow included) and returns NULL
 * otherwise: never a pointer into the hypervisor's memory or a device's. Guest-physical 0 itself
 * is NULL in the hypervisor's identity map, so it reads as "not guest RAM" (Linux never uses
 * page 0; a guest that puts a paging structure there gets its walks refused).
 */
#ifndef POSTERN_GUEST_MEM_H
#define POSTERN_GUEST_MEM_H

#include "lib/phys.h"
#include "lib/types.h"

struct gmem_range {
    gpa_t base;
    u64 size;
};

struct guest_mem {
    const struct gmem_range *ranges; /* sorted, disjoint, adjacent ones merged */
    u32 count;
    /* Where guest-physical 0 is in the hypervisor's address space: 0 (identity) in the
     * hypervisor; the host unit tests put guest memory in a buffer. */
    uintptr_t hva_offset;
    u64 ram_bytes; /* of it usable RAM (e820 type 1), for the reports */
};

/* The range holding gpa, or NULL. */
static inline const struct gmem_range *gmem_range_of(const struct guest_mem *gm, gpa_t gpa)
{
    u32 lo = 0, hi = gm->count;

    while (lo < hi) {
        u32 mid = lo + (hi - lo) / 2;
        const struct gmem_range *r = &gm->ranges[mid];
        if (gpa < r->base)
            hi = mid;
        else if (gpa - r->base >= r->size)
            lo = mid + 1;
        else
            return r;
    }
    return NULL;
}

static inline void *gmem_ptr(const struct guest_mem *gm, gpa_t gpa, u64 len)
{
    const struct gmem_range *r = gmem_range_of(gm, gpa);

    if (!r || len > r->size - (gpa - r->base))
        return NULL;
    return (void *)(gpa + gm->hva_offset);
}

/* Does [base, base+size) overlap guest RAM? (A device BAR must not.) */
static inline bool gmem_overlaps(const struct guest_mem *gm, u64 base, u64 size)
{
    for (u32 i = 0; i < gm->count; i++)
        if (gm->ranges[i].base < base + size && base < gm->ranges[i].base + gm->ranges[i].size)
            return true;
    return base + size < base;
}

#endif
