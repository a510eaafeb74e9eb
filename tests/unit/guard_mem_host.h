/* tests/unit/guard_mem_host.c's knobs: a limit on what guard_mem_alloc hands out (0 = none) and
 * what it has handed out and not had back. */
#ifndef POSTERN_TEST_GUARD_MEM_HOST_H
#define POSTERN_TEST_GUARD_MEM_HOST_H
extern unsigned long long guard_mem_host_limit, guard_mem_host_live;
#endif
