/*
 * The DMA domains, in the page-table format of either back end (pure logic, unit-tested).
 *
 * Domain 0 is what every requester gets: the caller's ranges (guest RAM). A requester that unity
 * maps name (RMRR, IVMD) gets a domain that also maps those regions at their own address; the
 * requesters named by the same set of regions share one. The back ends then point each requester
 * ID's device-table or context entry at its domain's table.
 */
#ifndef POSTERN_DMA_DOMAIN_H
#define POSTERN_DMA_DOMAIN_H

#include "lib/types.h"
#include "core/npt.h"
#include "iommu.h"

#define DMA_MAX_REGIONS 64 /* distinct unity-mapped regions (a bit each in a domain's mask) */

struct dma_region {
    u64 base, size;
    u32 perms;
};

struct dma_domain {
    u16 id;   /* DomainID (AMD-Vi) / DID (VT-d): 1 for domain 0, then 2, 3, ... */
    u64 mask; /* the regions it maps */
    struct npt npt;
};

struct dma_plan {
    u32 nranges;
    struct iommu_range *range; /* the caller's, copied */
    u32 nregions;
    struct dma_region region[DMA_MAX_REGIONS];
    u32 ndomains;
    struct dma_domain *domain;
    const struct iommu_unity *unity; /* the unity maps (the caller's: kept, not copied) */
    u32 nunity;
    u64 tables; /* page-table pages of every domain */
};

/* Build every domain. Refuses (-1, a reason) a range or region outside what fmt's walk covers, a
 * region that overlaps a range which does not map it to itself (the device would need both at one
 * DMA address), or one that overlaps [avoid_base, avoid_base + avoid_size) (the hypervisor's
 * memory); more than DMA_MAX_REGIONS regions; out of memory. */
int dma_plan_build(struct dma_plan *p, const struct npt_format *fmt, hpa_t (*alloc_table)(void), iommu_mem_fn mem,
                   const struct iommu_range *r, u32 n, const struct iommu_unity *u, u32 nu, u64 avoid_base,
                   u64 avoid_size, char *err, size_t errsz);

/* The domain (index into p->domain) of requester rid in segment seg. */
u32 dma_plan_domain_of(const struct dma_plan *p, u16 seg, u16 rid);

/* Does any requester of bus `bus` in segment seg have a domain other than 0? */
bool dma_plan_bus_special(const struct dma_plan *p, u16 seg, u8 bus);

/* Map the guest page at gpa writable or read-only in every domain; false when gpa is in no range
 * or a table could not be allocated. */
bool dma_plan_set_writable(struct dma_plan *p, gpa_t gpa, bool writable);

/* The highest DMA address any domain maps, plus one (0 when nothing is mapped). */
u64 dma_plan_top(const struct dma_plan *p);

#endif
