/*
 * A guest for host tests: guest-physical memory backed by one anonymous host mapping
 * (hva = gpa + gm.hva_offset, as hv/core/guest_mem.h puts it). Only the listed ranges are the
 * guest's RAM (gmem_ptr's list); the pages between them and one page after the last are
 * PROT_NONE, so code that writes outside guest RAM crashes the test instead of passing quietly.
 * The mapping is MAP_NORESERVE: a few GiB of guest-physical span cost only the pages touched.
 *
 * struct guest_mem points at its ranges, so a struct test_guest is set up in place
 * (test_guest_init*) and never copied or returned by value; tests pass &g->gm.
 */
#ifndef POSTERN_TEST_GUEST_RAM_H
#define POSTERN_TEST_GUEST_RAM_H

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "core/guest_mem.h"

#define TEST_GUEST_MAX_RANGES 16

struct test_guest {
    struct gmem_range ranges[TEST_GUEST_MAX_RANGES];
    struct guest_mem gm;
    u8 *map; /* host mapping of guest-physical [lo, lo + map_len - PAGE_SIZE), then a guard page */
    u64 map_len;
    gpa_t lo;
};

/* RAM at ranges r[0..n) (sorted, disjoint, page-aligned, n <= TEST_GUEST_MAX_RANGES). Returns
 * false when the host mapping fails. */
static inline bool test_guest_init_ranges(struct test_guest *g, const struct gmem_range *r, u32 n)
{
    u64 hi;

    memset(g, 0, sizeof(*g));
    if (!n || n > TEST_GUEST_MAX_RANGES)
        return false;
    g->lo = r[0].base;
    hi = r[n - 1].base + r[n - 1].size;
    g->map_len = hi - g->lo + PAGE_SIZE;
    void *m = mmap(NULL, g->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED)
        return false;
    g->map = m;
    for (u32 i = 0; i < n; i++) {
        u64 gap_from = i ? r[i - 1].base + r[i - 1].size : r[0].base;
        g->ranges[i] = r[i];
        g->gm.ram_bytes += r[i].size;
        if (r[i].base > gap_from && mprotect(g->map + (gap_from - g->lo), r[i].base - gap_from, PROT_NONE))
            return false;
    }
    if (mprotect(g->map + (hi - g->lo), PAGE_SIZE, PROT_NONE))
        return false;
    g->gm.ranges = g->ranges;
    g->gm.count = n;
    g->gm.hva_offset = (uintptr_t)g->map - (uintptr_t)g->lo;
    return true;
}

/* RAM at [base, base + size). */
static inline bool test_guest_init(struct test_guest *g, gpa_t base, u64 size)
{
    struct gmem_range r = { base, size };
    return test_guest_init_ranges(g, &r, 1);
}

/* The host address of guest-physical gpa (no check: for reading what the code under test wrote). */
static inline u8 *test_guest_hva(const struct test_guest *g, gpa_t gpa)
{
    return (u8 *)(uintptr_t)(gpa + g->gm.hva_offset);
}

static inline void test_guest_free(struct test_guest *g)
{
    if (g->map)
        munmap(g->map, g->map_len);
    g->map = NULL;
}

#endif
