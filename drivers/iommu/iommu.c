/*
 * IOMMU front end: see iommu.h and docs/iommu.md.
 *
 * Discovery reads the host's ACPI tables (IVRS for AMD-Vi, DMAR for VT-d) into units and unity
 * maps. Enabling builds the DMA domains (dma_domain.c: the caller's ranges for everyone, plus the
 * unity maps for the devices they name) in the format of the back end, and points every requester
 * of every unit at its domain: default deny. The back ends (amd_vi.c, vtd.c) program the registers.
 *
 * There is one machine and one guest, so the back-end state lives here, once.
 */
#include "iommu.h"
#include "platform/acpi_host.h"
#include "amd_vi.h"
#include "dma_domain.h"
#include "domain_tables.h"
#include "dmar.h"
#include "ivrs.h"
#include "lib/bytes.h"
#include "lib/lib.h"
#include "lib/log.h"
#include "lib/phys.h"
#include "core/npt.h"
#include "lib/page_alloc.h"
#include "vtd.h"

static struct {
    struct dma_plan plan;  /* the DMA domains */
    struct amd_vi *amd;    /* one per unit */
    struct vtd *vtd;       /* one per unit */
    u8 dmar_haw;           /* host address width (bits) from the DMAR */
    struct iommu_info *io; /* the enabled one, for iommu_set_page_writable */
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

/* Arrays for the parsers and the back ends: whole pages from the hypervisor's allocator (zeroed). */
static void *hv_mem(size_t bytes)
{
    hpa_t pa = page_alloc(&hv_pages, (bytes + PAGE_SIZE - 1) / PAGE_SIZE, 1);
    return pa ? phys_to_virt(pa) : NULL;
}

static void bdf_str(u16 bdf, char out[8])
{
    fmt_snprintf(out, 8, "%02x:%02x.%u", PCI_BUS(bdf), PCI_DEV(bdf), PCI_FN(bdf));
}

static void page_out(u64 base, u64 last, u64 *pbase, u64 *psize)
{
    *pbase = base & ~(u64)(PAGE_SIZE - 1);
    u64 end = (last | (PAGE_SIZE - 1));
    *psize = end - *pbase + 1;
}

/* ---------------------------------------------------------------- discovery: AMD-Vi */
static u32 ivrs_unity_count(const struct ivrs_info *iv)
{
    u32 n = 0;
    for (u32 i = 0; i < iv->ivmds; i++) {
        const struct ivrs_ivmd *m = &iv->ivmd[i];
        if (!(m->flags & (IVMD_FLAG_UNITY | IVMD_FLAG_EXCLUSION)) || !m->length)
            continue;
        n++;
        for (u32 a = 0; a < iv->aliases; a++) /* a named device's DMA may carry its alias's ID */
            n += iv->alias[a].segment == m->segment && iv->alias[a].first <= m->last && iv->alias[a].last >= m->first;
    }
    return n;
}

static void ivmd_unity(const struct ivrs_ivmd *m, u16 first, u16 last, struct iommu_unity *u)
{
    /* An exclusion range is what the device reaches untranslated: a read/write unity map, as Linux. */
    u32 perms = (m->flags & IVMD_FLAG_EXCLUSION)
                    ? NPT_READ | NPT_WRITE
                    : ((m->flags & IVMD_FLAG_IR) ? NPT_READ : 0) | ((m->flags & IVMD_FLAG_IW) ? NPT_WRITE : 0);
    *u = (struct iommu_unity){ .perms = perms, .segment = m->segment, .first = first, .last = last, .source = "IVMD" };
    page_out(m->start, m->start + m->length - 1, &u->base, &u->size);
}

static int from_ivrs(const struct ivrs_info *iv, struct iommu_info *out, char *err, size_t errsz)
{
    char b[8];

    out->kind = IOMMU_AMD_VI;
    out->unit = hv_mem(iv->units * sizeof(*out->unit));
    hw.amd = hv_mem(iv->units * sizeof(*hw.amd));
    out->unities = ivrs_unity_count(iv);
    out->unity = hv_mem((out->unities ? out->unities : 1) * sizeof(*out->unity));
    if (!out->unit || !hw.amd || !out->unity) {
        fmt_snprintf(err, errsz, "out of hypervisor memory for %u AMD-Vi units", iv->units);
        return -1;
    }
    out->units = iv->units;
    out->segments = iv->segments;
    for (u32 i = 0; i < iv->units; i++) {
        const struct ivrs_unit *u = &iv->unit[i];
        out->unit[i] = (struct iommu_unit){
            .mmio_base = u->base,
            .mmio_size = u->mmio_size,
            .has_bdf = true,
            .bdf = u->devid,
            .segment = u->segment,
        };
        hw.amd[i] = (struct amd_vi){ .devid = u->devid, .ivhd_flags = u->flags };
        bdf_str(u->devid, b);
        LOG("iommu: AMD-Vi %s registers 0x%lx+0x%lx (IVHD type 0x%x, flags 0x%x, segment %u, %u device entries)", b,
            u->base, u->mmio_size, u->type, u->flags, u->segment, u->dev_entries);
    }
    u32 k = 0;
    for (u32 i = 0; i < iv->ivmds; i++) {
        const struct ivrs_ivmd *m = &iv->ivmd[i];
        if (!(m->flags & (IVMD_FLAG_UNITY | IVMD_FLAG_EXCLUSION)) || !m->length) {
            LOG("iommu: IVMD 0x%lx+0x%lx (flags 0x%x) is empty, or neither a unity map nor an exclusion range: ignored",
                m->start, m->length, m->flags);
            continue;
        }
        ivmd_unity(m, m->first, m->last, &out->unity[k++]);
        LOG("iommu: IVMD 0x%lx-0x%lx %s%s identity-mapped for DeviceIDs %04x:%04x-%04x", out->unity[k - 1].base,
            out->unity[k - 1].base + out->unity[k - 1].size - 1, (m->flags & IVMD_FLAG_IR) ? "r" : "-",
            (m->flags & IVMD_FLAG_IW) ? "w" : "-", m->segment, m->first, m->last);
        for (u32 a = 0; a < iv->aliases; a++) {
            const struct ivrs_alias *al = &iv->alias[a];
            if (al->segment == m->segment && al->first <= m->last && al->last >= m->first)
                ivmd_unity(m, al->alias, al->alias, &out->unity[k++]);
        }
    }
    out->unities = k;
    if (iv->aliases || iv->specials)
        LOG("iommu: IVRS: %u device alias entr%s, %u special device(s) (I/O APIC, HPET); every DeviceID is translated",
            iv->aliases, iv->aliases == 1 ? "y" : "ies", iv->specials);
    return 0;
}

/* ---------------------------------------------------------------- discovery: VT-d */
/* Follow a scope's path from its start bus through bridges (their secondary bus numbers) to the
 * requester ID of the last hop. False when a bridge cannot be read. */
static bool resolve_path(const struct dmar_scope *s, const struct pci_cfg_access *cfg, u16 *bdf)
{
    u8 bus = s->start_bus;

    if (s->path_len == 0)
        return false;
    for (u32 i = 0; i + 1 < s->path_len; i++) {
        if (!cfg)
            return false;
        u16 bridge = PCI_BDF(bus, s->path[i][0] & 0x1f, s->path[i][1] & 7);
        u32 sec = cfg->read(cfg->ctx, bridge, PCI_SECONDARY_BUS, 1);
        if (sec == 0xff || sec == 0 || sec <= bus)
            return false;
        bus = (u8)sec;
    }
    *bdf = PCI_BDF(bus, s->path[s->path_len - 1][0] & 0x1f, s->path[s->path_len - 1][1] & 7);
    return true;
}

static int from_dmar(const struct dmar_info *dm, const struct pci_cfg_access *cfg, struct iommu_info *out, char *err,
                     size_t errsz)
{
    u32 scopes = 0, k = 0;
    char b[8];

    out->kind = IOMMU_VTD;
    for (u32 r = 0; r < dm->rmrrs; r++)
        scopes += dm->rmrr[r].scopes;
    out->unit = hv_mem(dm->units * sizeof(*out->unit));
    hw.vtd = hv_mem(dm->units * sizeof(*hw.vtd));
    out->unity = hv_mem((scopes ? scopes : 1) * sizeof(*out->unity));
    if (!out->unit || !hw.vtd || !out->unity) {
        fmt_snprintf(err, errsz, "out of hypervisor memory for %u VT-d units", dm->units);
        return -1;
    }
    out->units = dm->units;
    out->segments = dm->segments;
    hw.dmar_haw = dm->haw;
    for (u32 i = 0; i < dm->units; i++) {
        const struct dmar_drhd *d = &dm->drhd[i];
        out->unit[i] = (struct iommu_unit){ .mmio_base = d->base, .mmio_size = d->mmio_size, .segment = d->segment };
        hw.vtd[i] = (struct vtd){ .base = d->base };
        LOG("iommu: VT-d unit registers 0x%lx+0x%lx, segment %u, %s, %u device scope(s)", d->base, d->mmio_size,
            d->segment, d->include_all ? "all remaining PCI devices" : "listed devices", d->scopes);
    }
    for (u32 r = 0; r < dm->rmrrs; r++) {
        const struct dmar_rmrr *rm = &dm->rmrr[r];
        for (u32 s = 0; s < rm->scopes; s++) {
            const struct dmar_scope *sc = &rm->scope[s];
            struct iommu_unity u = { .perms = NPT_READ | NPT_WRITE, .segment = rm->segment, .source = "RMRR" };
            u16 bdf;
            page_out(rm->base, rm->limit, &u.base, &u.size);
            if ((sc->type != DMAR_SCOPE_PCI_ENDPOINT && sc->type != DMAR_SCOPE_PCI_SUBHIERARCHY) ||
                (rm->segment != 0 && sc->path_len > 1) || !resolve_path(sc, rm->segment == 0 ? cfg : NULL, &bdf)) {
                out->unresolved++;
                LOG("iommu: RMRR 0x%lx-0x%lx: scope type %u at bus %02x (%u hops) names no device found: not mapped",
                    rm->base, rm->limit, sc->type, sc->start_bus, sc->path_len);
                continue;
            }
            u.first = u.last = bdf;
            if (sc->type == DMAR_SCOPE_PCI_SUBHIERARCHY && cfg && rm->segment == 0) {
                /* A bridge: it and everything behind it (its secondary to subordinate buses). */
                u32 sec = cfg->read(cfg->ctx, bdf, PCI_SECONDARY_BUS, 1), sub = cfg->read(cfg->ctx, bdf, 0x1a, 1);
                if (sec != 0xff && sub != 0xff && sec > PCI_BUS(bdf) && sub >= sec) {
                    out->unity[k] = u;
                    out->unity[k].first = out->unity[k].last = bdf;
                    k++;
                    u.first = PCI_BDF(sec, 0, 0);
                    u.last = PCI_BDF(sub, 31, 7);
                }
            }
            out->unity[k++] = u;
            bdf_str(bdf, b);
            LOG("iommu: RMRR 0x%lx-0x%lx identity-mapped for %04x:%s%s", rm->base, rm->limit, rm->segment, b,
                u.first != u.last ? " and the devices behind it" : "");
        }
    }
    out->unities = k;
    return 0;
}

int iommu_discover(hpa_t host_rsdp, const struct pci_cfg_access *cfg, struct iommu_info *out, char *err, size_t errsz)
{
    static struct ivrs_info iv;
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
        if (ivrs_parse(t, len, &iv, hv_mem, err, errsz) || from_ivrs(&iv, out, err, errsz)) {
            out->kind = IOMMU_AMD_VI;
            out->units = 0;
            return -1;
        }
        return 0;
    }
    found = acpi_host_find(host_rsdp, "DMAR", &t, &len, err, errsz);
    if (found < 0)
        return -1;
    if (found && (dmar_parse(t, len, &dm, hv_mem, err, errsz) || from_dmar(&dm, cfg, out, err, errsz))) {
        out->kind = IOMMU_VTD;
        out->units = 0;
        return -1;
    }
    return 0;
}

bool iommu_unity_names(const struct iommu_info *io, u16 segment, u16 bdf, char *why, size_t whysz)
{
    for (u32 i = 0; i < io->unities; i++) {
        const struct iommu_unity *u = &io->unity[i];
        if (u->segment == segment && bdf >= u->first && bdf <= u->last) {
            fmt_snprintf(why, whysz, "the firmware's %s 0x%lx-0x%lx names it (DMA to firmware memory)", u->source,
                         u->base, u->base + u->size - 1);
            return true;
        }
    }
    return false;
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
static int build_domains(struct iommu_info *io, const struct npt_format *fmt, const struct iommu_range *r, u32 n,
                         char *err, size_t errsz)
{
    if (dma_plan_build(&hw.plan, fmt, alloc_table, hv_mem, r, n, io->unity, io->unities, hv_pages.base,
                       hv_pages.npages * PAGE_SIZE, err, errsz))
        return -1;
    io->domains = hw.plan.ndomains;
    io->table_pages = hw.plan.tables;
    return 0;
}

/* The first unit of each segment builds that segment's device table; the others share it. */
static int enable_amd_vi(struct iommu_info *io, const struct iommu_range *r, u32 n, char *err, size_t errsz)
{
    u32 i;
    hpa_t *devtab = hv_mem(io->units * sizeof(hpa_t));

    if (!devtab) {
        fmt_snprintf(err, errsz, "out of hypervisor memory");
        return -1;
    }
    if (build_domains(io, &amd_vi_pt_format, r, n, err, errsz))
        return -1;
    for (i = 0; i < io->units; i++) {
        for (u32 j = 0; j < i && !devtab[i]; j++)
            if (io->unit[j].segment == io->unit[i].segment)
                devtab[i] = devtab[j];
        if (devtab[i])
            continue;
        devtab[i] = domain_amd_vi_devtab(&hw.plan, io->unit[i].segment, alloc_pages);
        if (!devtab[i]) {
            fmt_snprintf(err, errsz, "out of hypervisor memory for the 2 MiB AMD-Vi device table");
            return -1;
        }
        io->table_pages += AMD_VI_DEVTAB_SIZE / PAGE_SIZE;
    }
    for (i = 0; i < io->units; i++) {
        hw.amd[i].regs = mmio_regs(io->unit[i].mmio_base);
        hw.amd[i].domains = (u16)hw.plan.ndomains;
        if (amd_vi_enable(&hw.amd[i], devtab[i], alloc_pages, err, errsz))
            break;
        io->table_pages += 3; /* command buffer, event log, completion word */
    }
    if (i == io->units)
        return 0;
    while (i--) /* all or nothing, as iommu.h promises */
        reg_wr64(&hw.amd[i].regs, AMD_VI_CONTROL, 0);
    return -1;
}

static int enable_vtd(struct iommu_info *io, const struct iommu_range *r, u32 n, char *err, size_t errsz)
{
    int levels = 4;
    bool large = true;
    u32 mgaw = 64, i;
    hpa_t *root = hv_mem(io->units * sizeof(hpa_t));

    if (!root) {
        fmt_snprintf(err, errsz, "out of hypervisor memory");
        return -1;
    }
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
    if (build_domains(io, vtd_pt_format(levels, large), r, n, err, errsz))
        return -1;
    /* Addresses the units must be able to produce: every range and table page (the pool). */
    u64 haw_limit = hw.dmar_haw >= 64 ? ~0ull : (1ull << hw.dmar_haw) - 1;
    u64 pool_top = hv_pages.base + hv_pages.npages * PAGE_SIZE - 1;
    for (u32 k = 0; k < n; k++)
        if (r[k].hpa + r[k].size - 1 > haw_limit) {
            fmt_snprintf(err, errsz, "DMA range host 0x%lx+0x%lx lies above the %u-bit host address width", r[k].hpa,
                         r[k].size, hw.dmar_haw);
            return -1;
        }
    if (hv_pages.npages && pool_top > haw_limit) {
        fmt_snprintf(err, errsz, "hypervisor memory lies above the %u-bit host address width", hw.dmar_haw);
        return -1;
    }
    if (mgaw < 64 && dma_plan_top(&hw.plan) > (1ull << mgaw)) {
        fmt_snprintf(err, errsz, "DMA addresses up to 0x%lx exceed the %u-bit DMA address width (MGAW)",
                     dma_plan_top(&hw.plan) - 1, mgaw);
        return -1;
    }
    for (i = 0; i < io->units; i++) {
        for (u32 j = 0; j < i && !root[i]; j++)
            if (io->unit[j].segment == io->unit[i].segment)
                root[i] = root[j];
        if (!root[i] &&
            !(root[i] = domain_vtd_root(&hw.plan, io->unit[i].segment, levels, alloc_pages, &io->table_pages))) {
            fmt_snprintf(err, errsz, "out of hypervisor memory for the VT-d root and context tables");
            return -1;
        }
    }
    for (i = 0; i < io->units; i++) {
        reg_wr32(&hw.vtd[i].regs, VTD_FECTL, BIT(31)); /* fault interrupts masked: we poll */
        if (vtd_enable(&hw.vtd[i], root[i], alloc_pages, err, errsz))
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

int iommu_enable(struct iommu_info *io, const struct iommu_range *ranges, u32 n, char *err, size_t errsz)
{
    int rc;

    io->enabled = false;
    if (io->kind == IOMMU_NONE || io->units == 0) {
        fmt_snprintf(err, errsz, "no IOMMU was discovered");
        return -1;
    }
    rc = io->kind == IOMMU_AMD_VI ? enable_amd_vi(io, ranges, n, err, errsz) : enable_vtd(io, ranges, n, err, errsz);
    if (rc)
        return -1;
    io->enabled = true;
    hw.io = io;
    return 0;
}

bool iommu_set_page_writable(gpa_t gpa, bool writable)
{
    struct iommu_info *io = hw.io;
    bool ok = true;

    if (!io || !io->enabled)
        return true;
    if (!IS_ALIGNED(gpa, PAGE_SIZE) || !dma_plan_set_writable(&hw.plan, gpa, writable))
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
