// SPDX-License-Identifier: GPL-2.0
/* dma_map_page_attrs absorbed (kernel/dma/mapping.c, dma_direct_map_page in kernel/dma/direct.h):
 * the direct mapping only — no dma_map_ops (no IOMMU driver in the guest), no forced bouncing, a
 * coherent device, no DMA range map, and a bus address the device can reach. Then the bus address
 * is the page's physical address (with the memory-encryption bit, as phys_to_dma sets it) and
 * nothing else happens: x86 needs no cache maintenance. Every other case (an IOMMU's ops, swiotlb
 * bouncing, an address beyond the mask, a bad direction or no mask, where the kernel BUGs or
 * warns) goes to the kernel's dma_map_page_attrs through its exit wrapper. */
#include <linux/dma-direct.h>
#include <linux/dma-map-ops.h>
#include <linux/swiotlb.h>

#include "christo_absorb.h"

/* The kernel's function does more on these configurations (debug bookkeeping, KMSAN, bypass). */
#if defined(CONFIG_DMA_API_DEBUG) || defined(CONFIG_KMSAN) || defined(CONFIG_DMA_OPS_BYPASS) || \
	defined(CONFIG_ARCH_HAS_DMA_MAP_DIRECT)
#error "dma_map_page_attrs: the kernel's configuration does more than the direct mapping"
#endif

CHRISTO_ABSORB(dma_map_page_attrs, "dma_map_page_attrs", "dma_ops vmemmap_base sme_me_mask");

dma_addr_t christo_absorbed_dma_map_page_attrs(struct device *dev, struct page *page, size_t offset, size_t size,
					       enum dma_data_direction dir, unsigned long attrs)
{
	dma_addr_t addr;

	if (unlikely(get_dma_ops(dev) || !valid_dma_direction(dir) || !dev->dma_mask || dev->dma_range_map ||
		     is_swiotlb_force_bounce(dev) || !dev_is_dma_coherent(dev)))
		return dma_map_page_attrs(dev, page, offset, size, dir, attrs);
	addr = phys_to_dma(dev, page_to_phys(page) + offset);
	if (unlikely(!dma_capable(dev, addr, size, true)))
		return dma_map_page_attrs(dev, page, offset, size, dir, attrs);
	return addr;
}
