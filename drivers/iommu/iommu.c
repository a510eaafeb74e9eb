/*
 * IOMMU front end: see iommu.h and docs/iommu.md.
 *
 * Discovery reads the host's ACPI tables (IVRS for AMD-Vi, DMAR for VT-d). Enabling builds one
 * DMA page table, the guest's RAM ranges identity-mapped (guest-physical = host-physical) and
 * nothing else (no hypervisor page, no device), with the
 * format of the back end, and points every requester of every unit at it: one domain, default
 * deny. The back ends (amd_vi.c, vtd.c) program the registers.
 *
 * There is one machine and one guest, so the back-end state lives here, once.
 */
#include "iommu.h"
#include "platform/acpi_host.h"
#include "amd_vi.h"
#include "dmar.h"
#include "ivrs.h"
#include "lib/lib.h"
#include "lib/log.h"
#include "core/npt.h"
#include "lib/page_alloc.h"
#include "vtd.h"

static struct {
    struct npt dma; /* the one DMA address space */
    struct amd_vi amd[IOMMU_MAX_UNITS];
    struct vtd vtd[IOMMU_MAX_UNITS];
    u8 dmar_haw;                /* host address width (bits) from the DMAR */
    struct iommu_info *io;      /* the enabled one, for iommu_set_page_writable */
    const struct guest_mem *gm; /* its RAM */
} hw;

const char *iommu_kind_name(enum iommu_kind k)
{
    switch (k) {
    case IOMMU_AMD_VI:
        return "AMD-Vi";
    case IOMMU_VTD:
        return "VT-d";
    default:
        return "none";
    }
}

/* ---------------------------------------------------------------- discovery */
static void from_ivrs(const struct ivrs_info *iv, struct iommu_info *out)
{
    out->kind = IOMMU_AMD_VI;
    out->units = iv->units;
    for (u32 i = 0; i < iv->units; i++) {
        const struct ivrs_unit *u = &iv->unit[i];
        out->unit[i] = (struct iommu_unit){
            .mmio_base = u->base,
            .mmio_size = u->mmio_size,
            .has_bdf = true,
            .bdf = u->devid,
            .segment = 0,
        };
        hw.amd[i] = (struct amd_vi){ .devid = u->devid, .ivhd_flags = u->flags };
        LOG("iommu: AMD-Vi %02x:%02x.%u registers 0x%lx+0x%lx (IVHD type 0x%x, flags 0x%x)", u->devid >> 8,
            (u->devid >> 3) & 0x1f, u->devid & 7, u->base, u->mmio_size, u->type, u->flags);
    }
    if (iv->ivmd_blocks)
        LOG("iommu: IVRS names %u memory block(s) (IVMD) for devices: not mapped, DMA to them is blocked",
            iv->ivmd_blocks);
}

static void from_dmar(const struct dmar_info *dm, struct iommu_info *out)
{
    out->kind = IOMMU_VTD;
    out->units = dm->units;
    hw.dmar_haw = dm->haw;
    for (u32 i = 0; i < dm->units; i++) {
        const struct dmar_drhd *d = &dm->drhd[i];
        out->unit[i] = (struct iommu_unit){ .mmio_base = d->base, .mmio_size = d->mmio_size, .segment = 0 };
        hw.vtd[i] = (struct vtd){ .base = d->base };
        LOG("iommu: VT-d unit registers 0x%lx+0x%lx, %s, %u device scope(s)", d->base, d->mmio_size,
            d->include_all ? "all remaining PCI devices" : "listed devices", d->scopes);
    }
    if (dm->rmrrs)
        LOG("iommu: DMAR names %u reserved memory region(s) (RMRR): not mapped, DMA to them is blocked", dm->rmrrs);
}

int iommu_discover(hpa_t host_rsdp, struct iommu_info *out, char *err, size_t errsz)
{
    static struct ivrs_info iv; /* large-ish: off the hypervisor's stack */
    static struct dmar_info dm;
    const u8 *t;
    u32 len;
    int found;

    memset(out, 0, sizeof(*out));
    memset(&hw, 0, sizeof(hw));
    out->kind = IOMMU_NONE;
    found = acpi_host_find(host_rsdp, "IVRS", &t, &len, err, errsz);
    if (found < 0)
        return -1;
    if (found) {
        if (ivrs_parse(t, len, &iv, err, errsz))
            return -1;
        from_ivrs(&iv, out);
        return 0;
    }
    found = acpi_host_find(host_rsdp, "DMAR", &t, &len, err, errsz);
    if (found < 0)
        return -1;
    if (found) {
        if (dmar_parse(t, len, &dm, err, errsz))
            return -1;
        from_dmar(&dm, out);
    }
    return 0;
}

/* ---------------------------------------------------------------- registers on the machine */
static u32 mmio_rd32(void *ctx, u32 off) { return *(volatile u32 *)((u8 *)ctx + off); }
static u64 mmio_rd64(void *ctx, u32 off) { return *(volatile u64 *)((u8 *)ctx + off); }
static void mmio_wr32(void *ctx, u32 off, u32 v) { *(volatile u32 *)((u8 *)ctx + off) = v; }
static void mmio_wr64(void *ctx, u32 off, u64 v) { *(volatile u64 *)((u8 *)ctx + off) = v; }

static struct iommu_regs mmio_regs(hpa_t base)
{
    return (struct iommu_regs){
        .rd32 = mmio_rd32, .rd64 = mmio_rd64, .wr32 = mmio_wr32, .wr64 = mmio_wr64, .ctx = phys_to_virt(base)
    };
}

static hpa_t alloc_pages(u64 npages) { return page_alloc(&hv_pages, npages, 1); }
static hpa_t alloc_table(void) { return page_alloc(&hv_pages, 1, 1); }

/* ---------------------------------------------------------------- enabling */
/* The one DMA address space: guest RAM, read and write, nothing else. */
static int build_dma_map(struct iommu_info *io, const struct npt_format *fmt, const struct guest_mem *gm, char *err,
                         size_t errsz)
{
    if (!npt_init(&hw.dma, fmt, alloc_table)) {
        fmt_snprintf(err, errsz, "out of hypervisor memory for the DMA page table");
        return -1;
    }
    for (u32 i = 0; i < gm->count; i++) {
        const struct gmem_range *r = &gm->ranges[i];
        if (r->base + r->size > npt_limit(&hw.dma)) {
            fmt_snprintf(err, errsz, "guest RAM up to 0x%lx exceeds what a %d-level DMA page table covers",
                         r->base + r->size, fmt->levels);
            return -1;
        }
        if (!npt_map(&hw.dma, r->base, r->base, r->size, NPT_READ | NPT_WRITE)) {
            fmt_snprintf(err, errsz, "out of hypervisor memory mapping guest RAM for DMA");
            return -1;
        }
    }
    io->table_pages = hw.dma.tables;
    return 0;
}

static int enable_amd_vi(struct iommu_info *io, const struct guest_mem *gm, char *err, size_t errsz)
{
    u32 i;

    if (build_dma_map(io, &amd_vi_pt_format, gm, err, errsz))
        return -1;
    hpa_t devtab = amd_vi_build_devtab(hw.dma.root, amd_vi_pt_format.levels, AMD_VI_DOMAIN, alloc_pages);
    if (!devtab) {
        fmt_snprintf(err, errsz, "out of hypervisor memory for the 2 MiB AMD-Vi device table");
        return -1;
    }
    io->table_pages += AMD_VI_DEVTAB_SIZE / PAGE_SIZE;
    for (i = 0; i < io->units; i++) {
        hw.amd[i].regs = mmio_regs(io->unit[i].mmio_base);
        if (amd_vi_enable(&hw.amd[i], devtab, alloc_pages, err, errsz))
            break;
        io->table_pages += 3; /* command buffer, event log, completion word */
    }
    if (i == io->units)
        return 0;
    while (i--) /* all or nothing, as iommu.h promises */
        reg_wr64(&hw.amd[i].regs, AMD_VI_CONTROL, 0);
    return -1;
}

static int enable_vtd(struct iommu_info *io, const struct guest_mem *gm, char *err, size_t errsz)
{
    int levels = 4;
    bool large = true;
    u32 mgaw = 64, i;

    for (i = 0; i < io->units; i++) {
        struct vtd *u = &hw.vtd[i];
        u->regs = mmio_regs(io->unit[i].mmio_base);
        vtd_probe(u);
        int l = vtd_levels(u->cap);
        if (!l) {
            fmt_snprintf(err, errsz, "VT-d unit at 0x%lx supports neither a 3- nor a 4-level walk (CAP 0x%lx)", u->base,
                         u->cap);
            return -1;
        }
        levels = l < levels ? l : levels;
        large = large && VTD_CAP_SLLPS_2M(u->cap);
        mgaw = VTD_CAP_MGAW(u->cap) < mgaw ? VTD_CAP_MGAW(u->cap) : mgaw;
    }
    /* Addresses the units must be able to produce: guest RAM and every table page (the pool). */
    u64 haw_limit = hw.dmar_haw >= 64 ? ~0ull : (1ull << hw.dmar_haw) - 1;
    u64 top = gm->count ? gm->ranges[gm->count - 1].base + gm->ranges[gm->count - 1].size - 1 : 0;
    u64 pool_top = hv_pages.base + hv_pages.npages * PAGE_SIZE - 1;
    if (top > haw_limit || (hv_pages.npages && pool_top > haw_limit)) {
        fmt_snprintf(err, errsz, "guest RAM or hypervisor memory lies above the %u-bit host address width",
                     hw.dmar_haw);
        return -1;
    }
    if (mgaw < 64 && top >= (1ull << mgaw)) {
        fmt_snprintf(err, errsz, "guest RAM exceeds the %u-bit DMA address width (MGAW)", mgaw);
        return -1;
    }
    if (build_dma_map(io, vtd_pt_format(levels, large), gm, err, errsz))
        return -1;
    hpa_t root = vtd_build_tables(hw.dma.root, levels, VTD_DOMAIN, alloc_pages);
    if (!root) {
        fmt_snprintf(err, errsz, "out of hypervisor memory for the VT-d root and context tables");
        return -1;
    }
    io->table_pages += 2;
    for (i = 0; i < io->units; i++) {
        reg_wr32(&hw.vtd[i].regs, VTD_FECTL, BIT(31)); /* fault interrupts masked: we poll */
        if (vtd_enable(&hw.vtd[i], root, alloc_pages, err, errsz))
            break;
    }
    if (i == io->units)
        return 0;
    while (i--) {
        u32 state = reg_rd32(&hw.vtd[i].regs, VTD_GSTS) & VTD_GSTS_ONESHOT_MASK;
        reg_wr32(&hw.vtd[i].regs, VTD_GCMD, state & ~VTD_GCMD_TE);
    }
    return -1;
}

int iommu_enable(struct iommu_info *io, const struct guest_mem *gm, char *err, size_t errsz)
{
    int rc;

    io->enabled = false;
    if (io->kind == IOMMU_NONE || io->units == 0) {
        fmt_snprintf(err, errsz, "no IOMMU was discovered");
        return -1;
    }
    rc = io->kind == IOMMU_AMD_VI ? enable_amd_vi(io, gm, err, errsz) : enable_vtd(io, gm, err, errsz);
    if (rc)
        return -1;
    io->enabled = true;
    hw.io = io;
    hw.gm = gm;
    return 0;
}

bool iommu_set_page_writable(gpa_t gpa, bool writable)
{
    struct iommu_info *io = hw.io;
    bool ok = true;

    if (!io || !io->enabled)
        return true;
    if (!IS_ALIGNED(gpa, PAGE_SIZE) || !gmem_ptr(hw.gm, gpa, PAGE_SIZE))
        return false;
    if (!npt_map(&hw.dma, gpa, gpa, PAGE_SIZE, NPT_READ | (writable ? NPT_WRITE : 0)))
        return false;
    for (u32 i = 0; i < io->units; i++)
        ok &= io->kind == IOMMU_AMD_VI ? amd_vi_invalidate(&hw.amd[i]) : vtd_invalidate(&hw.vtd[i]);
    return ok;
}

u32 iommu_poll_faults(struct iommu_info *io)
{
    u32 n = 0;

    if (!io->enabled)
        return 0;
    for (u32 i = 0; i < io->units; i++)
        n += io->kind == IOMMU_AMD_VI ? amd_vi_poll_events(&hw.amd[i]) : vtd_poll_faults(&hw.vtd[i]);
    io->faults += n;
    return n;
}
