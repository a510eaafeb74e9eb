// SPDX-License-Identifier: GPL-2.0
/* dma_unmap_page_attrs absorbed (kernel/dma/mapping.c, dma_direct_unmap_page and
 * dma_direct_sync_single_for_cpu in kernel/dma/direct.h): with the direct mapping on a coherent
 * x86 device, unmapping a buffer that is not a swiotlb bounce buffer does nothing at all. Check
 * exactly that and return; anything else (an IOMMU's ops, a bounce buffer to copy back and free,
 * a non-coherent device, a bad direction) goes to the kernel's dma_unmap_page_attrs through its
 * exit wrapper. */
#include <linux/dma-direct.h>
#include <linux/dma-map-ops.h>
#include <linux/swiotlb.h>

#include "christo_absorb.h"

#if defined(CONFIG_DMA_API_DEBUG) || defined(CONFIG_DMA_OPS_BYPASS) || defined(CONFIG_ARCH_HAS_DMA_MAP_DIRECT)
#error "dma_unmap_page_attrs: the kernel's configuration does more than the direct mapping"
#endif

CHRISTO_ABSORB(dma_unmap_page_attrs, "dma_unmap_page_attrs", "dma_ops sme_me_mask");

void christo_absorbed_dma_unmap_page_attrs(struct device *dev, dma_addr_t addr, size_t size,
					   enum dma_data_direction dir, unsigned long attrs)
{
	if (unlikely(get_dma_ops(dev) || !valid_dma_direction(dir) || !dev_is_dma_coherent(dev) ||
		     is_swiotlb_buffer(dev, dma_to_phys(dev, addr))))
		dma_unmap_page_attrs(dev, addr, size, dir, attrs);
}
