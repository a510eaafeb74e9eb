/* Requester → domain tables: see domain_tables.h. */
#include "domain_tables.h"
#include "amd_vi.h"
#include "lib/lib.h"
#include "lib/phys.h"
#include "vtd.h"

hpa_t domain_amd_vi_devtab(const struct dma_plan *p, u16 seg, iommu_alloc_fn alloc)
{
    const struct dma_domain *dom = p->domain;
    hpa_t t = amd_vi_build_devtab(dom[0].npt.root, dom[0].npt.fmt->levels, dom[0].id, alloc);

    if (!t)
        return 0;
    for (u32 id = 0; p->ndomains > 1 && id < AMD_VI_DEVICE_IDS; id++) {
        u32 d = dma_plan_domain_of(p, seg, (u16)id);
        if (d)
            amd_vi_dte((u8 *)phys_to_virt(t) + (u64)id * AMD_VI_DTE_SIZE, dom[d].npt.root, dom[d].npt.fmt->levels,
                       dom[d].id);
    }
    return t;
}

hpa_t domain_vtd_root(const struct dma_plan *p, u16 seg, int levels, iommu_alloc_fn alloc, u64 *pages)
{
    const struct dma_domain *dom = p->domain;
    hpa_t root = vtd_build_tables(dom[0].npt.root, levels, dom[0].id, alloc);
    u64 e[2];

    if (!root)
        return 0;
    *pages += 2;
    for (u32 bus = 0; p->ndomains > 1 && bus < 256; bus++) {
        if (!dma_plan_bus_special(p, seg, (u8)bus))
            continue;
        hpa_t ctx = alloc(1);
        if (!ctx)
            return 0;
        (*pages)++;
        for (u32 devfn = 0; devfn < 256; devfn++) {
            const struct dma_domain *d = &dom[dma_plan_domain_of(p, seg, (u16)(bus << 8 | devfn))];
            vtd_context_entry(e, d->npt.root, levels, d->id);
            memcpy((u8 *)phys_to_virt(ctx) + devfn * 16, e, 16);
        }
        vtd_root_entry(e, ctx);
        memcpy((u8 *)phys_to_virt(root) + bus * 16, e, 16);
    }
    return root;
}
