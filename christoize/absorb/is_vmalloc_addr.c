// SPDX-License-Identifier: GPL-2.0
/* is_vmalloc_addr absorbed (mm/vmalloc.c): is x inside the vmalloc area? The e1000 calls it once
 * per mapped buffer (dma_map_single's sanity check). Reads the area's bounds, which the kernel
 * fixes at boot (vmalloc_base, randomised by KASLR; the paging depth). No slow path. */
#include <linux/mm.h>

#include "christo_absorb.h"

CHRISTO_ABSORB(is_vmalloc_addr, "", "vmalloc_base boot_cpu_data");

bool christo_absorbed_is_vmalloc_addr(const void *x)
{
	unsigned long addr = (unsigned long)kasan_reset_tag(x);

	return addr >= VMALLOC_START && addr < VMALLOC_END;
}
