// SPDX-License-Identifier: GPL-2.0
/* dma_sync_single_for_cpu absorbed (kernel/dma/mapping.c, dma_direct_sync_single_for_cpu in
 * kernel/dma/direct.h): with the direct mapping on a coherent x86 device, a buffer that is not a
 * swiotlb bounce buffer needs nothing before the CPU reads it (the e1000 syncs every small received
 * frame before copying it). Check exactly that and return; anything else (an IOMMU's ops, a bounce
 * buffer to copy, a non-coherent device, a bad direction) goes to the kernel's
 * dma_sync_single_for_cpu through its exit wrapper. */
#include <linux/dma-direct.h>
#include <linux/dma-map-ops.h>
#include <linux/swiotlb.h>

#include "christo_absorb.h"

#if defined(CONFIG_DMA_API_DEBUG) || defined(CONFIG_DMA_OPS_BYPASS)
#error "dma_sync_single_for_cpu: the kernel's configuration does more than the direct mapping"
#endif

CHRISTO_ABSORB(dma_sync_single_for_cpu, "dma_sync_single_for_cpu", "dma_ops sme_me_mask");

void christo_absorbed_dma_sync_single_for_cpu(struct device *dev, dma_addr_t addr, size_t size,
					      enum dma_data_direction dir)
{
	if (unlikely(get_dma_ops(dev) || !valid_dma_direction(dir) || !dev_is_dma_coherent(dev) ||
		     is_swiotlb_buffer(dev, dma_to_phys(dev, addr))))
		dma_sync_single_for_cpu(dev, addr, size, dir);
}
