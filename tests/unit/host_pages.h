/* Zeroed, page-aligned host pages standing in for the hypervisor's page allocator in the
 * nested-paging tests (physical = virtual in host tests), freed by the teardown. */
#ifndef POSTERN_TEST_HOST_PAGES_H
#define POSTERN_TEST_HOST_PAGES_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/types.h"

static void *host_pages[4096];
static int host_npages;

static hpa_t alloc_page(void)
{
    void *p = aligned_alloc(4096, 4096);
    memset(p, 0, 4096);
    host_pages[host_npages++] = p;
    return (hpa_t)(uintptr_t)p;
}

static int teardown(void **state)
{
    while (host_npages)
        free(host_pages[--host_npages]);
    return 0;
}

#endif
