/* See guest_physmap.h. */
#include "core/guest_physmap.h"

/* Is [a, a+len) covered by memory (anything but firmware-reported MMIO)? Returns the end of the
 * memory region that covers a, or 0 when a is not in memory; *next gets the start of the first
 * memory region above a (or limit). */
static u64 memory_at(const struct boot_mem_region *mem, u32 count, u64 a, u64 limit, u64 *next)
{
    *next = limit;
    for (u32 i = 0; i < count; i++) {
        const struct boot_mem_region *r = &mem[i];
        if (r->type == BOOT_MEM_MMIO || r->size == 0)
            continue;
        if (a >= r->base && a - r->base < r->size)
            return r->base + r->size;
        if (r->base > a && r->base < *next)
            *next = r->base;
    }
    return 0;
}

int physmap_device_windows(const struct boot_mem_region *mem, u32 count, u64 start, struct phys_range *out, int max)
{
    u64 limit = PHYSMAP_MMIO_LIMIT;
    u64 a = (start + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    int n = 0;

    while (a < limit) {
        u64 next, end = memory_at(mem, count, a, limit, &next);
        if (end) {
            /* Skip memory; round up so a partial page of memory is never exposed. */
            a = (end + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
            continue;
        }
        next &= ~(PAGE_SIZE - 1);
        if (next > a) {
            if (n == max)
                return -1;
            out[n].base = a;
            out[n].size = next - a;
            n++;
        }
        a = next > a ? next : a + PAGE_SIZE;
    }
    return n;
}

bool physmap_device_range_ok(const struct boot_mem_region *mem, u32 count, u64 base, u64 size)
{
    if (!size || base + size < base || !IS_ALIGNED(base | size, PAGE_SIZE))
        return false;
    for (u32 i = 0; i < count; i++) {
        const struct boot_mem_region *r = &mem[i];
        if (r->type == BOOT_MEM_MMIO || r->type == BOOT_MEM_RESERVED)
            continue;
        if (r->base < base + size && base < r->base + r->size)
            return false;
    }
    return true;
}
