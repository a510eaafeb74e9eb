/* DMA domains: see dma_domain.h. */
#include "dma_domain.h"
#include "lib/lib.h"
#include "lib/log.h"

static bool overlaps(u64 a, u64 asz, u64 b, u64 bsz) { return asz && bsz && a < b + bsz && b < a + asz; }

/* The regions unity map k names, as a bit in a domain's mask. */
static u32 region_of(const struct dma_plan *p, const struct iommu_unity *u)
{
    for (u32 i = 0; i < p->nregions; i++)
        if (p->region[i].base == u->base && p->region[i].size == u->size && p->region[i].perms == u->perms)
            return i;
    return p->nregions;
}

static u64 mask_of(const struct dma_plan *p, u16 seg, u16 rid)
{
    u64 m = 0;
    for (u32 i = 0; i < p->nunity; i++) {
        const struct iommu_unity *u = &p->unity[i];
        if (u->segment == seg && rid >= u->first && rid <= u->last)
            m |= 1ull << region_of(p, u);
    }
    return m;
}

u32 dma_plan_domain_of(const struct dma_plan *p, u16 seg, u16 rid)
{
    u64 m = p->nunity ? mask_of(p, seg, rid) : 0;
    for (u32 d = 0; m && d < p->ndomains; d++)
        if (p->domain[d].mask == m)
            return d;
    return 0;
}

bool dma_plan_bus_special(const struct dma_plan *p, u16 seg, u8 bus)
{
    for (u32 i = 0; i < p->nunity; i++) {
        const struct iommu_unity *u = &p->unity[i];
        if (u->segment == seg && u->first <= (u16)(bus << 8 | 0xff) && u->last >= (u16)(bus << 8))
            return true;
    }
    return false;
}

static int check_region(const struct dma_plan *p, const struct iommu_unity *u, u64 limit, u64 avoid_base,
                        u64 avoid_size, char *err, size_t errsz)
{
    if (u->base + u->size > limit) {
        fmt_snprintf(err, errsz, "%s 0x%lx-0x%lx lies above what the DMA page table covers", u->source, u->base,
                     u->base + u->size - 1);
        return -1;
    }
    if (overlaps(u->base, u->size, avoid_base, avoid_size)) {
        fmt_snprintf(err, errsz, "%s 0x%lx-0x%lx overlaps the hypervisor's memory", u->source, u->base,
                     u->base + u->size - 1);
        return -1;
    }
    for (u32 i = 0; i < p->nranges; i++) {
        const struct iommu_range *r = &p->range[i];
        if (overlaps(u->base, u->size, r->gpa, r->size) && r->gpa != r->hpa) {
            char who[40];
            if (u->first == u->last)
                fmt_snprintf(who, sizeof(who), "%02x:%02x.%u", PCI_BUS(u->first), PCI_DEV(u->first), PCI_FN(u->first));
            else
                fmt_snprintf(who, sizeof(who), "requester IDs %04x-%04x", u->first, u->last);
            fmt_snprintf(err, errsz,
                         "%s 0x%lx-0x%lx for %s overlaps guest-physical 0x%lx-0x%lx, which is not "
                         "identity-mapped",
                         u->source, u->base, u->base + u->size - 1, who, r->gpa, r->gpa + r->size - 1);
            return -1;
        }
    }
    return 0;
}

/* The domain with mask m, made (every range, then the regions) if it is new. */
static int domain_for(struct dma_plan *p, u64 m, u32 max, const struct npt_format *fmt, hpa_t (*alloc_table)(void),
                      char *err, size_t errsz)
{
    for (u32 d = 0; d < p->ndomains; d++)
        if (p->domain[d].mask == m)
            return 0;
    if (p->ndomains == max) {
        fmt_snprintf(err, errsz, "more DMA domains than expected (%u)", max);
        return -1;
    }
    struct dma_domain *dom = &p->domain[p->ndomains];
    dom->id = (u16)(p->ndomains + 1);
    dom->mask = m;
    if (!npt_init(&dom->npt, fmt, alloc_table))
        goto oom;
    for (u32 i = 0; i < p->nranges; i++)
        if (!npt_map(&dom->npt, p->range[i].gpa, p->range[i].hpa, p->range[i].size, p->range[i].perms))
            goto oom;
    for (u32 b = 0; b < p->nregions; b++)
        if ((m >> b) & 1)
            if (!npt_map(&dom->npt, p->region[b].base, p->region[b].base, p->region[b].size, p->region[b].perms))
                goto oom;
    p->ndomains++;
    p->tables += dom->npt.tables;
    return 0;
oom:
    fmt_snprintf(err, errsz, "out of hypervisor memory for DMA domain %u's page table", dom->id);
    return -1;
}

int dma_plan_build(struct dma_plan *p, const struct npt_format *fmt, hpa_t (*alloc_table)(void), iommu_mem_fn mem,
                   const struct iommu_range *r, u32 n, const struct iommu_unity *u, u32 nu, u64 avoid_base,
                   u64 avoid_size, char *err, size_t errsz)
{
    struct npt probe;
    u32 max;

    memset(p, 0, sizeof(*p));
    p->unity = u;
    p->nunity = nu;
    p->range = mem((n ? n : 1) * sizeof(*r));
    if (!p->range || !npt_init(&probe, fmt, alloc_table)) {
        fmt_snprintf(err, errsz, "out of hypervisor memory for the DMA domains");
        return -1;
    }
    u64 limit = npt_limit(&probe);
    for (u32 i = 0; i < n; i++) {
        if (!r[i].size || !IS_ALIGNED(r[i].gpa | r[i].hpa | r[i].size, PAGE_SIZE) || r[i].gpa + r[i].size > limit ||
            r[i].gpa + r[i].size < r[i].gpa) {
            fmt_snprintf(err, errsz,
                         "DMA range 0x%lx+0x%lx is not page-aligned or lies above what a %d-level DMA page "
                         "table covers",
                         r[i].gpa, r[i].size, fmt->levels);
            return -1;
        }
        p->range[p->nranges++] = r[i];
    }
    for (u32 i = 0; i < nu; i++) {
        u32 k = region_of(p, &u[i]);
        if (k < p->nregions)
            continue;
        if (k == DMA_MAX_REGIONS) {
            fmt_snprintf(err, errsz, "more than %u distinct RMRR/IVMD regions; not supported", DMA_MAX_REGIONS);
            return -1;
        }
        if (check_region(p, &u[i], limit, avoid_base, avoid_size, err, errsz))
            return -1;
        p->region[p->nregions++] = (struct dma_region){ .base = u[i].base, .size = u[i].size, .perms = u[i].perms };
    }
    /* At most one domain per unity map, plus domain 0 (the probe's root page is domain 0's). */
    max = nu + 1;
    p->domain = mem(max * sizeof(*p->domain));
    if (!p->domain) {
        fmt_snprintf(err, errsz, "out of hypervisor memory for the DMA domains");
        return -1;
    }
    p->domain[0].npt = probe;
    p->domain[0].id = 1;
    p->ndomains = 1;
    for (u32 i = 0; i < p->nranges; i++)
        if (!npt_map(&p->domain[0].npt, p->range[i].gpa, p->range[i].hpa, p->range[i].size, p->range[i].perms)) {
            fmt_snprintf(err, errsz, "out of hypervisor memory mapping guest RAM for DMA");
            return -1;
        }
    p->tables = p->domain[0].npt.tables;
    /* A requester's mask changes only at a unity map's first or last ID: look there. */
    for (u32 i = 0; i < nu; i++) {
        u32 ids[2] = { u[i].first, u[i].last };
        for (int e = 0; e < 2; e++) {
            u64 m = mask_of(p, u[i].segment, (u16)ids[e]);
            if (m && domain_for(p, m, max, fmt, alloc_table, err, errsz))
                return -1;
        }
        for (u32 j = 0; j < nu; j++) { /* and just inside another map's edges, within this one */
            u32 edge[2] = { u[j].first, u[j].last };
            for (int e = 0; e < 2; e++) {
                if (u[j].segment != u[i].segment || edge[e] < u[i].first || edge[e] > u[i].last)
                    continue;
                for (int dlt = -1; dlt <= 1; dlt += 2) {
                    s32 id = (s32)edge[e] + dlt;
                    if (id < (s32)u[i].first || id > (s32)u[i].last)
                        continue;
                    u64 m = mask_of(p, u[i].segment, (u16)id);
                    if (m && domain_for(p, m, max, fmt, alloc_table, err, errsz))
                        return -1;
                }
            }
        }
    }
    return 0;
}

bool dma_plan_set_writable(struct dma_plan *p, gpa_t gpa, bool writable)
{
    for (u32 i = 0; i < p->nranges; i++) {
        const struct iommu_range *r = &p->range[i];
        if (gpa < r->gpa || gpa - r->gpa >= r->size)
            continue;
        u32 perms = (r->perms & NPT_READ) | (writable ? (r->perms & NPT_WRITE) : 0);
        for (u32 d = 0; d < p->ndomains; d++)
            if (!npt_map(&p->domain[d].npt, gpa, r->hpa + (gpa - r->gpa), PAGE_SIZE, perms))
                return false;
        return true;
    }
    return false;
}

u64 dma_plan_top(const struct dma_plan *p)
{
    u64 top = 0;
    for (u32 i = 0; i < p->nranges; i++)
        top = p->range[i].gpa + p->range[i].size > top ? p->range[i].gpa + p->range[i].size : top;
    for (u32 i = 0; i < p->nregions; i++)
        top = p->region[i].base + p->region[i].size > top ? p->region[i].base + p->region[i].size : top;
    return top;
}
