/*
 * The per-segment tables that point each requester ID at its DMA domain (dma_domain.h): an AMD-Vi
 * device table, a VT-d root table with its context tables. Pure table building (no registers),
 * unit-tested; iommu.c hands the results to the units.
 */
#ifndef POSTERN_DOMAIN_TABLES_H
#define POSTERN_DOMAIN_TABLES_H

#include "lib/types.h"
#include "dma_domain.h"
#include "iommu_regs.h"

/* Segment seg's 2 MiB device table: every DeviceID translating through domain 0, except those in
 * another domain, which get theirs. 0 when out of memory. */
hpa_t domain_amd_vi_devtab(const struct dma_plan *p, u16 seg, iommu_alloc_fn alloc);

/* Segment seg's root table: every bus points at one shared context table (domain 0), except a bus
 * with a requester in another domain, which gets a context table of its own. *pages counts the
 * pages allocated. 0 when out of memory. */
hpa_t domain_vtd_root(const struct dma_plan *p, u16 seg, int levels, iommu_alloc_fn alloc, u64 *pages);

#endif
