/* See pci_policy.h. */
#include "pci/pci_policy.h"
#include "pci/guarded_dev.h"
#include "pci/pci_conf1.h"
#include "pci/pci_chipset.h"
#include "pci/pci_ecam.h"
#include "core/mmio_emul.h"
#include "pci/trap_page.h"
#include "lib/platform_report.h"
#include "lib/lib.h"
#include "lib/log.h"
#include "lib/page_alloc.h"
#include "lib/phys.h"
#include "core/vm.h"

#define GUARDED_MAX (1 + BOOT_MAX_GUARDED_MORE)

struct pci_policy {
    struct pci_dev *dev; /* every function found, allocated for the count the scan found */
    enum pci_guest_mode *mode;
    int count;
    const char **hidden_why; /* per function, for the platform report (allocated with dev) */
    /* The guarded devices in postern.cfg's order (guarded_nic lines): gdev[k] guards dev[gidx[k]];
     * the first owns the privileged view (docs/pci.md, "More than one guarded device"). */
    int gidx[GUARDED_MAX];
    struct guarded_dev gdev[GUARDED_MAX];
    int nguarded;
    struct pci_conf1 conf1;
    struct pci_ecam_window ecam[ACPI_MAX_ECAM]; /* the guest's windows (MCFG kept), all trapped */
    int ecam_count;
    u64 ecam_accesses, ecam_hidden, ecam_bar_writes, ecam_refused, ecam_other_segment, writes_refused;
    u64 writes_refused_logged;
};

static struct pci_policy pol;

/* The guarded device of function i, NULL when it is not guarded. */
static struct guarded_dev *gdev_of(int i)
{
    for (int k = 0; k < pol.nguarded; k++)
        if (pol.gidx[k] == i)
            return &pol.gdev[k];
    return NULL;
}

static const char *mode_name(enum pci_guest_mode m)
{
    return m == PCI_HIDDEN        ? "hidden"
           : m == PCI_VIRTUALIZED ? "guarded"
           : m == PCI_READONLY    ? "read-only"
           : m == PCI_BRIDGE      ? "bridge"
                                  : "passthrough";
}

static int index_of(u16 bdf)
{
    /* Sorted by discovery, not by bdf, and looked up on every access: a linear scan over what
     * the machine has (tens to a few hundred functions) is cheaper than the exit around it. */
    for (int i = 0; i < pol.count; i++)
        if (pol.dev[i].bdf == bdf)
            return i;
    return -1;
}

static enum pci_guest_mode mode_of(u16 bdf, struct pci_vdev **vdev, void *ctx)
{
    int i = index_of(bdf);

    if (i < 0)
        /* A function the scan did not find (none there, or behind a bridge the guest set up
         * later): the hardware answers, which for an absent function is all ones. */
        return PCI_PASSTHROUGH;
    if (pol.mode[i] == PCI_VIRTUALIZED)
        *vdev = &gdev_of(i)->vdev;
    return pol.mode[i];
}

/* pci_conf1 callback: a guest write to a read-only (chipset) function, dropped. Logged unless it
 * could not have changed anything anyway (the value the register holds, or a BAR or ROM register
 * that reads 0, unimplemented: Linux sizes every function's BARs at boot). */
static void write_refused(u16 bdf, u16 off, u8 size, u32 value, void *ctx)
{
    int i = index_of(bdf);
    const char *why = i < 0                       ? NULL
                      : pol.mode[i] == PCI_BRIDGE ? "a bridge's bus numbers stay as the firmware set them (the "
                                                    "policy knows functions by bus number)"
                                                  : pci_chipset_write_refused(&pol.dev[i]);
    u32 now = pci_host.read(pci_host.ctx, bdf, off, size);
    bool bar_or_rom = (off >= PCI_BAR0 && off < PCI_BAR0 + 4 * PCI_NUM_BARS) || (off & ~3u) == PCI_ROM_BAR;
    char name[8];

    pol.writes_refused++;
    if (value == now || (bar_or_rom && now == 0))
        return;
    pci_bdf_str(bdf, name);
    LOG_RATELIMITED(pol.writes_refused_logged, 16,
                    "pci: guest write of 0x%x (%u bytes) to register 0x%x of %s refused: %s; reads are allowed", value,
                    size, off, name, why ? why : "chipset function");
}

/* Is the port inside an I/O BAR of a hidden device? (Those ports are intercepted.) */
static bool hidden_port(u16 port, u8 size)
{
    for (int i = 0; i < pol.count; i++) {
        if (pol.mode[i] != PCI_HIDDEN)
            continue;
        for (int b = 0; b < PCI_NUM_BARS; b++) {
            const struct pci_bar *bar = &pol.dev[i].bar[b];
            if (bar->kind == PCI_BAR_IO && bar->size && port + size > bar->base && port < bar->base + bar->size)
                return true;
        }
    }
    return false;
}

/* Unmap every memory BAR of a hidden device from the guest (both views), wherever it is (above
 * 4 GiB too: the nested tables may map the whole physical space; an address beyond what they
 * cover is unmapped already); its I/O BARs are intercepted in pci_policy_attach_vcpu. */
static void hide_bars(const struct pci_dev *d)
{
    for (int b = 0; b < PCI_NUM_BARS; b++) {
        const struct pci_bar *bar = &d->bar[b];
        if ((bar->kind == PCI_BAR_MEM32 || bar->kind == PCI_BAR_MEM64) && bar->size &&
            bar->base + bar->size > bar->base) {
            u64 base = bar->base & ~(u64)(PAGE_SIZE - 1);
            u64 end = (bar->base + bar->size + PAGE_SIZE - 1) & ~(u64)(PAGE_SIZE - 1);
            vm_npt_unmap(&vm0, base, end - base);
        }
    }
}

/* The host's windows for its own access (segment 0), and the guest's: every window of a kept MCFG,
 * unmapped from both views so each access faults into pci_policy_nested_fault. */
static void setup_ecam(const struct acpi_guest_info *acpi)
{
    pci_host_init(0, 0, 0);
    pol.ecam_count = 0;
    for (u32 i = 0; i < acpi->ecam_count; i++) {
        const struct acpi_ecam_window *w = &acpi->ecam[i];
        if (w->segment == 0 && !pci_host_add_window(w->base, w->bus_start, w->bus_end))
            LOG("pci: more than %d ECAM windows for segment 0: buses %02x-%02x through the ports", PCI_HOST_MAX_WINDOWS,
                w->bus_start, w->bus_end);
        if (!acpi->mcfg_kept)
            continue;
        pol.ecam[pol.ecam_count].base = w->base;
        pol.ecam[pol.ecam_count].segment = w->segment;
        pol.ecam[pol.ecam_count].bus_start = w->bus_start;
        pol.ecam[pol.ecam_count].bus_end = w->bus_end;
        pol.ecam_count++;
        vm_npt_unmap(&vm0, w->base, w->size);
        LOG("pci: ECAM segment %u buses %02x-%02x at 0x%llx-0x%llx: in the guest's MCFG, trapped (every access "
            "emulated)",
            w->segment, w->bus_start, w->bus_end, (unsigned long long)w->base,
            (unsigned long long)(w->base + w->size - 1));
    }
    if (acpi->ecam_truncated)
        LOG("pci: MCFG has more than %u windows: the rest are not used", ACPI_MAX_ECAM);
    if (!acpi->mcfg_kept && acpi->ecam_count)
        LOG("pci: an ECAM window lies inside guest RAM, where it cannot be trapped: MCFG left out of the guest's "
            "ACPI, which has configuration ports 0xCF8/0xCFC only");
    else if (!acpi->mcfg_kept)
        LOG("pci: no MCFG: the guest has configuration ports 0xCF8/0xCFC only");
}

/* Every function, in an array sized from what the scan finds (no fixed cap). */
static int enumerate_all(char *err, size_t errsz)
{
    int n = pci_enumerate(&pci_host, NULL, 0);
    u64 bytes = (u64)n * (sizeof(struct pci_dev) + sizeof(enum pci_guest_mode) + sizeof(const char *)) + 8;
    hpa_t pa;
    u8 roots[256];
    char line[160];
    int nroots, len;

    pol.count = 0;
    if (n == 0)
        return 0;
    pa = page_alloc_zeroed(ALIGN_UP(bytes, PAGE_SIZE) / PAGE_SIZE);
    if (!pa) {
        fmt_snprintf(err, errsz, "out of hypervisor memory for %d PCI functions", n);
        return -1;
    }
    pol.dev = phys_to_virt(pa);
    pol.mode = (enum pci_guest_mode *)(pol.dev + n);
    pol.hidden_why = (const char **)ALIGN_UP((uintptr_t)(pol.mode + n), sizeof(const char *));
    pol.count = pci_enumerate(&pci_host, pol.dev, n);
    nroots = pci_root_buses(pol.dev, pol.count, roots);
    len = fmt_snprintf(line, sizeof(line), "pci: segment 0: %d functions, %d root bus%s:", pol.count, nroots,
                       nroots == 1 ? "" : "es");
    for (int r = 0; r < nroots && len > 0 && (size_t)len < sizeof(line) - 4; r++)
        len += fmt_snprintf(line + len, sizeof(line) - (size_t)len, " %02x", roots[r]);
    LOG("%s", line);
    return 0;
}

/* Which other functions' memory BARs share a page with a sub-page BAR of the guarded device g:
 * their accesses exit and are forwarded (trap_page.c), or refused when the function is hidden. */
static void log_page_neighbours(int g)
{
    const struct pci_dev *gd = &pol.dev[g];
    char gbdf[8], bdf[8];

    pci_bdf_str(gd->bdf, gbdf);
    for (int b = 0; b < PCI_NUM_BARS; b++) {
        const struct pci_bar *gb = &gd->bar[b];
        u64 page = ALIGN_DOWN(gb->base, PAGE_SIZE);
        int shared = 0;

        if ((gb->kind != PCI_BAR_MEM32 && gb->kind != PCI_BAR_MEM64) || !gb->size || gb->size >= PAGE_SIZE)
            continue;
        for (int i = 0; i < pol.count; i++) {
            for (int k = 0; k < PCI_NUM_BARS; k++) {
                const struct pci_bar *ob = &pol.dev[i].bar[k];
                if ((i == g && k == b) || (ob->kind != PCI_BAR_MEM32 && ob->kind != PCI_BAR_MEM64) || !ob->size ||
                    ob->base >= page + PAGE_SIZE || ob->base + ob->size <= page)
                    continue;
                pci_bdf_str(pol.dev[i].bdf, bdf);
                LOG("pci: page 0x%llx of %s BAR%d also holds %s BAR%d 0x%llx+0x%llx (%s): %s", (unsigned long long)page,
                    gbdf, b, bdf, k, (unsigned long long)ob->base, (unsigned long long)ob->size, mode_name(pol.mode[i]),
                    pol.mode[i] == PCI_HIDDEN ? "refused (#GP)" : "its accesses exit and are forwarded");
                shared++;
            }
        }
        if (!shared)
            LOG("pci: page 0x%llx of %s BAR%d holds no other BAR", (unsigned long long)page, gbdf, b);
    }
}

/* The platform report's PCI lines: how configuration space is reached, the buses found, the
 * guarded and hidden functions (hv/lib/platform_report.h). */
static void report_fill(struct report_sink *s, const void *ctx)
{
    char buses[100] = "", bdf[8];
    size_t n = 0;
    int nbus = 0;

    for (int i = 0; i < pol.count; i++) {
        u8 bus = (u8)(pol.dev[i].bdf >> 8);
        bool seen = false;
        for (int j = 0; j < i && !seen; j++)
            seen = (u8)(pol.dev[j].bdf >> 8) == bus;
        if (seen)
            continue;
        nbus++;
        if (n + 4 < sizeof(buses))
            n += (size_t)fmt_snprintf(buses + n, sizeof(buses) - n, "%s%02x", n ? " " : "", bus);
    }
    for (int w = 0; w < pol.ecam_count; w++)
        report_line(s, "segment %u: ECAM at 0x%llx (buses %02x-%02x, from MCFG), trapped for the guest",
                    pol.ecam[w].segment, (unsigned long long)pol.ecam[w].base, pol.ecam[w].bus_start,
                    pol.ecam[w].bus_end);
    if (!pol.ecam_count)
        report_line(s, "segment 0: ports 0xCF8/0xCFC (no MCFG: offsets 256 and up unreachable)");
    report_line(s, "every root bus and the buses below its bridges: %d bus%s (%s), %d functions", nbus,
                nbus == 1 ? "" : "es", buses, pol.count);
    for (int i = 0; i < pol.count; i++) {
        const struct pci_dev *d = &pol.dev[i];
        pci_bdf_str(d->bdf, bdf);
        const struct guarded_dev *g = gdev_of(i);
        if (g) {
            report_line(s,
                        "guarded %s %04x:%04x class %06x%s, privilege %s: %llu view switches, %llu unprivileged "
                        "writes dropped",
                        bdf, d->vendor, d->device, d->class_rev >> 8,
                        (d->class_rev >> 24) == 0x02 ? " (network)" : " (not a network controller)", g->privilege,
                        (unsigned long long)g->stats.raises, (unsigned long long)g->stats.writes_dropped);
            for (int b = 0; b < PCI_NUM_BARS; b++)
                if ((d->bar[b].kind == PCI_BAR_MEM32 || d->bar[b].kind == PCI_BAR_MEM64) && d->bar[b].size &&
                    d->bar[b].size < PAGE_SIZE)
                    report_line(s, "guarded %s BAR%d 0x%llx+0x%llx is smaller than a page: its page is trapped", bdf, b,
                                (unsigned long long)d->bar[b].base, (unsigned long long)d->bar[b].size);
        } else if (pol.mode[i] == PCI_HIDDEN) {
            report_line(s, "hidden  %s %04x:%04x class %06x: %s", bdf, d->vendor, d->device, d->class_rev >> 8,
                        pol.hidden_why[i] ? pol.hidden_why[i] : "?");
        }
    }
    if (!pol.nguarded)
        report_line(s, "no guarded device");
}

int pci_policy_init(const struct boot_info *bi, const struct acpi_guest_info *acpi, const struct iommu_info *io,
                    struct privilege_registry *privs, char *err, size_t errsz)
{
    char bdf[8];

    setup_ecam(acpi);
    platform_report_add(REPORT_PCI, report_fill, NULL);
    pol.nguarded = 0;
    for (int k = 0; k < GUARDED_MAX; k++)
        pol.gidx[k] = -1;
    if (enumerate_all(err, errsz) != 0)
        return -1;

    for (int i = 0; i < pol.count; i++) {
        struct pci_dev *d = &pol.dev[i];
        enum pci_guest_mode m = PCI_PASSTHROUGH;

        for (u32 u = 0; u < io->units; u++)
            if (io->unit[u].has_bdf && io->unit[u].segment == 0 && io->unit[u].bdf == d->bdf) {
                m = PCI_HIDDEN; /* the IOMMU must stay the hypervisor's */
                pol.hidden_why[i] = "the IOMMU";
            }
        if (d->vendor == 0x1022 && (d->class_rev >> 16) == 0x0806 && m != PCI_HIDDEN) {
            m = PCI_HIDDEN; /* any AMD IOMMU function, listed in the IVRS or not (docs/iommu.md) */
            pol.hidden_why[i] = "an AMD IOMMU function the IVRS does not list";
        }
        for (u32 h = 0; h < bi->pci_hide_count; h++)
            if (pci_match_dev(&bi->pci_hide[h], d)) {
                m = PCI_HIDDEN;
                pol.hidden_why[i] = "pci_hide in postern.cfg";
            }
        if (bi->serial_pci && bi->serial_pci_bdf == d->bdf) {
            m = PCI_HIDDEN; /* Postern's own UART: the guest could move its BAR (docs/console.md) */
            pol.hidden_why[i] = "Postern's serial port";
        }
        /* each guarded_nic line takes the first function it matches that no earlier line took */
        for (u32 k = 0; m == PCI_PASSTHROUGH && bi->guarded_nic_set && k <= bi->guarded_more_count; k++) {
            const struct pci_match *gm = k ? &bi->guarded_more[k - 1].dev : &bi->guarded_nic;
            if (pol.gidx[k] < 0 && pci_match_dev(gm, d)) {
                m = PCI_VIRTUALIZED;
                pol.gidx[k] = i;
            }
        }
        if (m == PCI_PASSTHROUGH && pci_chipset_write_refused(d))
            m = PCI_READONLY; /* the guest reads it; its writes are refused (pci_chipset.h) */
        if (m == PCI_PASSTHROUGH && d->header_type == PCI_HEADER_BRIDGE)
            m = PCI_BRIDGE; /* passed through, its bus numbers fixed (pci_conf1.h) */
        pol.mode[i] = m;
        pci_bdf_str(d->bdf, bdf);
        if (m == PCI_READONLY)
            LOG("pci %s %04x:%04x class %06x: read-only: %s", bdf, d->vendor, d->device, d->class_rev >> 8,
                pci_chipset_write_refused(d));
        else
            LOG("pci %s %04x:%04x class %06x: %s", bdf, d->vendor, d->device, d->class_rev >> 8, mode_name(m));
        if (m == PCI_HIDDEN && d->bars_unsized)
            LOG("pci %s: hidden, but a bridge's BARs are not sized (never moved): its memory BARs stay mapped", bdf);
        for (int b = 0; b < PCI_NUM_BARS; b++) /* what the firmware did with BARs that share pages */
            if ((d->bar[b].kind == PCI_BAR_MEM32 || d->bar[b].kind == PCI_BAR_MEM64) && d->bar[b].size &&
                d->bar[b].size < PAGE_SIZE)
                LOG("pci %s BAR%d 0x%llx+0x%llx: smaller than a page", bdf, b, (unsigned long long)d->bar[b].base,
                    (unsigned long long)d->bar[b].size);
        if (m == PCI_HIDDEN)
            hide_bars(d);
    }
    /* The IOMMU's registers are never the guest's, whether or not it is a PCI function. */
    for (u32 u = 0; u < io->units; u++) {
        const struct iommu_unit *un = &io->unit[u];
        u64 base = un->mmio_base & ~(u64)(PAGE_SIZE - 1);
        u64 size = (un->mmio_base + un->mmio_size + PAGE_SIZE - 1 - base) & ~(u64)(PAGE_SIZE - 1);
        if (un->mmio_size && base + size > base)
            vm_npt_unmap(&vm0, base, size);
    }

    for (u32 k = 0; bi->guarded_nic_set && k <= bi->guarded_more_count; k++) {
        const struct pci_match *m = k ? &bi->guarded_more[k - 1].dev : &bi->guarded_nic;
        const char *priv = k ? bi->guarded_more[k - 1].privilege : bi->guarded_nic_privilege;
        int i = pol.gidx[k];
        int rc;

        if (i < 0) {
            if (m->by_bdf) {
                pci_bdf_str(m->bdf, bdf);
                fmt_snprintf(err, errsz, "guarded_nic %s: no such PCI device (or it is hidden)", bdf);
            } else {
                fmt_snprintf(err, errsz, "guarded_nic %04x:%04x: no such PCI device (or it is hidden)", m->vendor,
                             m->device);
            }
            return -1;
        }
        if (!io->enabled && bi->iommu_mode != BOOT_IOMMU_OFF) {
            fmt_snprintf(err, errsz,
                         "the guarded NIC needs an IOMMU to confine its DMA, and none is enabled "
                         "(QEMU: -device amd-iommu or intel-iommu; or set iommu = off to accept unconfined DMA)");
            return -1;
        }
        char why[120];
        pci_bdf_str(pol.dev[i].bdf, bdf);
        if (io->enabled && iommu_unity_names(io, 0, pol.dev[i].bdf, why, sizeof(why))) {
            fmt_snprintf(err, errsz, "guarded_nic %s: %s, which its guard cannot confine; not supported", bdf, why);
            return -1;
        }
        if (!io->enabled)
            LOG("pci: %s guarded with iommu = off: its DMA is bounded by nothing but the guarded driver (the "
                "administrator's choice)",
                bdf);
        /* the first owns the privileged view; a later one shares it when it has the same privilege,
         * otherwise its BARs are trapped (docs/pci.md, "More than one guarded device") */
        if (k == 0)
            rc = guarded_dev_init(&pol.gdev[k], &vm0, privs, &pol.dev[i], priv, err, errsz);
        else
            rc = guarded_dev_init_more(&pol.gdev[k], &vm0, privs, &pol.dev[i], priv,
                                       strcmp(priv, bi->guarded_nic_privilege) == 0, err, errsz);
        if (rc != 0)
            return -1;
        pol.nguarded = (int)k + 1;
        log_page_neighbours(i);
        pci_bdf_str(pol.dev[i].bdf, bdf);
        if ((pol.dev[i].class_rev >> 24) != 0x02)
            LOG("pci: %s is class %06x, not a network controller: guarded all the same", bdf,
                pol.dev[i].class_rev >> 8);
        LOG("pci: %s guarded by privilege '%s': BARs reachable only inside a module holding it (%s; views: %llu + "
            "%llu table pages)",
            bdf, priv,
            k == 0                 ? "the privileged view's owner"
            : pol.gdev[k].trap_all ? "another privilege than the privileged view's: every memory BAR trapped"
                                   : "in the privileged view with the first",
            (unsigned long long)vm0.npt.tables, (unsigned long long)vm0.npt_priv.tables);
    }
    pol.conf1.host = &pci_host;
    pol.conf1.mode_of = mode_of;
    pol.conf1.refused = write_refused;
    return 0;
}

bool pci_policy_guarded_nic(void) { return pol.nguarded > 0; }

int pci_policy_trapped_ranges(const struct acpi_guest_info *acpi, struct pci_trapped_range *out, int max)
{
    int n = 0;

    for (u32 i = 0; acpi->mcfg_kept && i < acpi->ecam_count; i++) {
        if (n == max)
            return -1;
        out[n].base = acpi->ecam[i].base;
        out[n].size = acpi->ecam[i].size;
        out[n].what = "ECAM";
        n++;
    }
    return n;
}

void pci_policy_attach_vcpu(struct vcpu *v)
{
    vcpu_ops->set_io_intercept(v, PCI_CONF1_ADDRESS + 0, true);
    vcpu_ops->set_io_intercept(v, PCI_CONF1_ADDRESS + 1, true);
    vcpu_ops->set_io_intercept(v, PCI_CONF1_ADDRESS + 2, true);
    vcpu_ops->set_io_intercept(v, PCI_CONF1_ADDRESS + 3, true);
    for (u16 p = 0; p < 4; p++)
        vcpu_ops->set_io_intercept(v, PCI_CONF1_DATA + p, true);
    for (int i = 0; i < pol.count; i++) {
        for (int b = 0; b < PCI_NUM_BARS && pol.mode[i] == PCI_HIDDEN; b++) {
            const struct pci_bar *bar = &pol.dev[i].bar[b];
            for (u64 p = 0; bar->kind == PCI_BAR_IO && p < bar->size && bar->base + p <= 0xffff; p++)
                vcpu_ops->set_io_intercept(v, (u16)(bar->base + p), true);
        }
    }
    for (int k = 0; k < pol.nguarded; k++)
        guarded_dev_attach_vcpu(&pol.gdev[k], v);
    if (pol.nguarded)
        guarded_dev_measure(&pol.gdev[0], v);
}

bool pci_policy_io(struct vcpu *v, u16 port, u8 size, bool in, u32 *value)
{
    if (pci_conf1_owns(port, size)) {
        if (in)
            *value = pci_conf1_in(&pol.conf1, port, size);
        else
            pci_conf1_out(&pol.conf1, port, size, *value);
        return true;
    }
    if (hidden_port(port, size)) {
        if (in)
            *value = 0xffffffffu; /* nothing decodes there, as far as the guest can tell */
        return true;
    }
    for (int k = 0; k < pol.nguarded; k++)
        if (guarded_dev_io(&pol.gdev[k], v, port, size, in, value))
            return true;
    return false;
}

static u32 size_ones(u8 size) { return size == 1 ? 0xffu : size == 2 ? 0xffffu : 0xffffffffu; }

/* A guest access to a trapped ECAM window: decoded, then the same dispatch as port 0xCFC. */
static bool ecam_fault(struct vcpu *v, gpa_t gpa, bool write)
{
    struct mmio_insn insn;
    const char *why = "";
    u16 bdf, off;
    int w = pci_ecam_decode(pol.ecam, pol.ecam_count, gpa, &bdf, &off);
    u32 value = 0;
    char name[8];
    int i;

    if (w < 0)
        return false;
    if (!mmio_decode(v, write, &insn, &why)) {
        LOG_RATELIMITED(pol.ecam_refused, 8, "pci: ECAM access at 0x%llx from rip 0x%llx refused (%s): #GP injected",
                        (unsigned long long)gpa, (unsigned long long)v->regs[REG_RIP], why);
        vcpu_inject_exception(v, VEC_GP, true, 0);
        return true;
    }
    pol.ecam_accesses++;
    pci_bdf_str(bdf, name);
    i = index_of(bdf);
    if (pol.ecam[w].segment != 0) {
        /* Only segment 0 is the hypervisor's to reach (pci_host); other segments show nothing. */
        LOG_RATELIMITED(pol.ecam_other_segment, 4,
                        "pci: ECAM access to segment %u (%s register 0x%x): not reachable, nothing there",
                        pol.ecam[w].segment, name, off);
        value = 0xffffffffu;
    } else if (insn.size > 4 || (off & (insn.size - 1))) {
        value = 0xffffffffu; /* not a configuration access hardware completes: nothing there */
    } else if (write) {
        u32 wv = (u32)insn_mmio_write_value(&insn, v->regs);
        if (i >= 0 && pol.mode[i] == PCI_HIDDEN)
            LOG_RATELIMITED(pol.ecam_hidden, 8, "pci: ECAM write to hidden function %s register 0x%x dropped", name,
                            off);
        if (i >= 0 && pol.mode[i] == PCI_VIRTUALIZED && off >= PCI_BAR0 && off < PCI_BAR0 + 4 * PCI_NUM_BARS)
            LOG_RATELIMITED(pol.ecam_bar_writes, 8,
                            "pci: ECAM write of 0x%x to BAR register 0x%x of the guarded device %s: its virtual BAR "
                            "only; the device's own BAR is never written",
                            wv, off, name);
        pci_guest_cfg_write(&pol.conf1, bdf, off, insn.size, wv);
    } else {
        value = pci_guest_cfg_read(&pol.conf1, bdf, off, insn.size);
        if (i >= 0 && pol.mode[i] == PCI_HIDDEN)
            LOG_RATELIMITED(pol.ecam_hidden, 8,
                            "pci: ECAM read of hidden function %s register 0x%x: all ones (nothing there)", name, off);
    }
    /* an 8-byte read of nothing is all ones in every byte */
    mmio_finish(v, &insn, write ? 0 : insn.size > 4 ? ~0ull : value & size_ones(insn.size));
    return true;
}

bool pci_policy_nested_fault(struct vcpu *v, gpa_t gpa, bool write)
{
    if (ecam_fault(v, gpa, write))
        return true;
    /* A guarded device's own bytes first; then the rest of a page a sub-page BAR trapped. */
    for (int k = 0; k < pol.nguarded; k++)
        if (guarded_dev_nested_fault(&pol.gdev[k], v, gpa, write))
            return true;
    return trap_page_forward(v, gpa, write);
}

void pci_policy_report(void)
{
    for (int k = 0; k < pol.nguarded; k++)
        guarded_dev_report(&pol.gdev[k]);
    LOG("pci: %llu ECAM accesses emulated (%llu to hidden functions, %llu refused); %llu writes to chipset "
        "functions refused",
        (unsigned long long)pol.ecam_accesses, (unsigned long long)pol.ecam_hidden,
        (unsigned long long)pol.ecam_refused, (unsigned long long)pol.writes_refused);
}

void pci_policy_list(void (*out)(void *ctx, const char *line), void *ctx)
{
    char line[160], bdf[8];
    for (int i = 0; i < pol.count; i++) {
        const struct pci_dev *d = &pol.dev[i];
        int n;
        pci_bdf_str(d->bdf, bdf);
        n = fmt_snprintf(line, sizeof(line), "%s  %04x:%04x  class %06x  %-11s", bdf, d->vendor, d->device,
                         d->class_rev >> 8, mode_name(pol.mode[i]));
        const struct guarded_dev *g = gdev_of(i);
        if (g && n > 0 && (size_t)n < sizeof(line))
            fmt_snprintf(line + n, sizeof(line) - (size_t)n,
                         " privilege %s; %llu view switches, unprivileged: %llu writes dropped, %llu port accesses "
                         "blocked",
                         g->privilege, (unsigned long long)g->stats.raises, (unsigned long long)g->stats.writes_dropped,
                         (unsigned long long)g->stats.io_blocked);
        out(ctx, line);
    }
    if (pol.count == 0)
        out(ctx, "no PCI functions found");
}
