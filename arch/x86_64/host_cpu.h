/*
 * The hypervisor's own CPU tables. The loader hands over on the firmware's stack, GDT and page
 * tables, which live in boot-services memory; with identity-mapped guest memory that memory is
 * the guest's RAM (docs/guest-boot.md "Memory model"), so before any guest code runs the
 * hypervisor moves onto a stack, a GDT with a TSS and identity page tables of its own, all in
 * memory the guest never maps.
 */
#ifndef POSTERN_HOST_CPU_H
#define POSTERN_HOST_CPU_H

#include "lib/types.h"

#define HOST_CS         0x08 /* 64-bit code */
#define HOST_DS         0x10 /* data, also SS */
#define HOST_TR         0x18 /* 64-bit TSS (two GDT slots); VT-x needs a non-zero TR (SDM §26.2.3) */
#define HOST_STACK_SIZE (128 * 1024)

/* Run fn(arg) on the hypervisor's own stack (in its image); fn never returns. */
NORETURN void host_cpu_run_on_own_stack(void (*fn)(void *), void *arg);

/* Load the hypervisor's GDT, reload every segment register and load its TSS. */
void host_cpu_load_gdt(void);

/* Base of the TSS that HOST_TR names (VMCS host TR base). */
u64 host_cpu_tss_base(void);

/* The CPU's physical address width (CPUID 0x80000008), and whether it has 1 GiB pages. */
u32 host_cpu_phys_bits(void);
bool host_cpu_has_1g_pages(void);

/* Build identity page tables for [0, 2^phys_bits) (1 GiB pages where the CPU has them, else 2 MiB),
 * write-back (the MTRRs keep device space uncached, as under the firmware's tables), and load
 * them. alloc_page gives a zeroed page or 0. Returns the pages used, 0 when out of memory (the
 * firmware's tables are then still loaded). */
u64 host_cpu_own_page_tables(hpa_t (*alloc_page)(void));

#endif
