/* See pci_policy.h. */
#include "pci/pci_policy.h"
#include "pci/guarded_dev.h"
#include "pci/pci_conf1.h"
#include "pci/trap_page.h"
#include "lib/platform_report.h"
#include "lib/lib.h"
#include "lib/log.h"
#include "core/vm.h"

#define GUARDED_MAX (1 + BOOT_MAX_GUARDED_MORE)

struct pci_policy {
    struct pci_dev dev[PCI_MAX_DEVICES];
    enum pci_guest_mode mode[PCI_MAX_DEVICES];
    int count;
    const char *hidden_why[PCI_MAX_DEVICES]; /* for the platform report */
    /* The guarded devices in postern.cfg's order (guarded_nic lines): gdev[k] guards dev[gidx[k]];
     * the first owns the privileged view (docs/pci.md, "More than one guarded device"). */
    int gidx[GUARDED_MAX];
    struct guarded_dev gdev[GUARDED_MAX];
    int nguarded;
    u64 ecam_base; /* 0: configuration mechanism #1 */
    u8 ecam_bus_end;
    struct pci_conf1 conf1;
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
    return m == PCI_HIDDEN ? "hidden" : m == PCI_VIRTUALIZED ? "guarded" : "passthrough";
}

static enum pci_guest_mode mode_of(u16 bdf, struct pci_vdev **vdev, void *ctx)
{
    for (int i = 0; i < pol.count; i++) {
        if (pol.dev[i].bdf != bdf)
            continue;
        if (pol.mode[i] == PCI_VIRTUALIZED)
            *vdev = &gdev_of(i)->vdev;
        return pol.mode[i];
    }
    /* A function the scan did not find (none there, or behind a bridge the guest set up later):
     * the hardware answers, which for an absent function is all ones. */
    return PCI_PASSTHROUGH;
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

/* Unmap every memory BAR of a hidden device from the guest (both views); its I/O BARs are
 * intercepted in pci_policy_attach_vcpu. */
static void hide_bars(const struct pci_dev *d)
{
    for (int b = 0; b < PCI_NUM_BARS; b++) {
        const struct pci_bar *bar = &d->bar[b];
        if ((bar->kind == PCI_BAR_MEM32 || bar->kind == PCI_BAR_MEM64) && bar->size &&
            bar->base + bar->size <= GiB(4)) {
            u64 base = bar->base & ~(u64)(PAGE_SIZE - 1);
            u64 end = (bar->base + bar->size + PAGE_SIZE - 1) & ~(u64)(PAGE_SIZE - 1);
            vm_npt_unmap(&vm0, base, end - base);
        }
    }
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
    if (pol.ecam_base)
        report_line(s, "segment 0: ECAM at 0x%llx (buses 00-%02x, from MCFG)", (unsigned long long)pol.ecam_base,
                    pol.ecam_bus_end);
    else
        report_line(s, "segment 0: ports 0xCF8/0xCFC (no MCFG: offsets 256 and up unreachable)");
    report_line(s, "root bus 00 and the buses below its bridges: %d bus%s (%s), %d functions", nbus,
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

    if (acpi->ecam_count) {
        pol.ecam_base = acpi->ecam[0].base;
        pol.ecam_bus_end = (u8)((acpi->ecam[0].size >> 20) - 1);
        pci_host_init(pol.ecam_base, 0, pol.ecam_bus_end);
    } else {
        pci_host_init(0, 0, 0);
    }
    platform_report_add(REPORT_PCI, report_fill, NULL);
    pol.count = pci_enumerate(&pci_host, pol.dev, PCI_MAX_DEVICES);
    pol.nguarded = 0;
    for (int k = 0; k < GUARDED_MAX; k++)
        pol.gidx[k] = -1;

    for (int i = 0; i < pol.count; i++) {
        struct pci_dev *d = &pol.dev[i];
        enum pci_guest_mode m = PCI_PASSTHROUGH;

        for (u32 u = 0; u < io->units; u++)
            if (io->unit[u].has_bdf && io->unit[u].bdf == d->bdf) {
                m = PCI_HIDDEN; /* the IOMMU must stay the hypervisor's */
                pol.hidden_why[i] = "the IOMMU";
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
        pol.mode[i] = m;
        pci_bdf_str(d->bdf, bdf);
        LOG("pci %s %04x:%04x class %06x: %s", bdf, d->vendor, d->device, d->class_rev >> 8, mode_name(m));
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
        if (un->mmio_size && base + size <= GiB(4))
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
    return 0;
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

bool pci_policy_nested_fault(struct vcpu *v, gpa_t gpa, bool write)
{
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
