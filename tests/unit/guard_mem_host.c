/* guard_mem_alloc for host tests, fuzzers and the bench: calloc. guard_mem_host_limit (bytes, 0 =
 * none) lets a test run the guard out of memory; guard_mem_host_live counts what is not freed. */
#include <stdlib.h>

#include "guard/guard.h"
#include "guard_mem_host.h"

unsigned long long guard_mem_host_limit, guard_mem_host_live;

void *guard_mem_alloc(u64 bytes)
{
    if (guard_mem_host_limit && guard_mem_host_live + bytes > guard_mem_host_limit)
        return NULL;
    void *p = calloc(1, bytes ? bytes : 1);
    if (p)
        guard_mem_host_live += bytes;
    return p;
}

void guard_mem_free(void *p, u64 bytes)
{
    if (p) {
        guard_mem_host_live -= bytes;
        free(p);
    }
}
