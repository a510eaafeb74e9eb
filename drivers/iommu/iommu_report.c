/* See iommu_report.h. */
#include "drivers/iommu/iommu_report.h"
#include "drivers/pci/pci.h"
#include "lib/platform_report.h"

static void iommu_fill(struct report_sink *s, const void *ctx)
{
    const struct iommu_info *io = ctx;

    if (io->kind == IOMMU_NONE) {
        report_line(s, "none in the ACPI tables (no IVRS or DMAR): device DMA is not confined");
        return;
    }
    report_line(s, "%s, %u unit%s, translation %s, %llu DMA table pages, %llu faults reported",
                iommu_kind_name(io->kind), io->units, io->units == 1 ? "" : "s",
                io->enabled ? "on (device DMA confined to guest RAM)" : "off", (unsigned long long)io->table_pages,
                (unsigned long long)io->faults);
    for (u32 u = 0; u < io->units; u++) {
        const struct iommu_unit *un = &io->unit[u];
        char bdf[8] = "";

        if (un->has_bdf)
            pci_bdf_str(un->bdf, bdf);
        report_line(s, "unit %u: %s registers 0x%llx+0x%llx (unmapped from the guest), segment %u%s%s%s", u,
                    iommu_kind_name(io->kind), (unsigned long long)un->mmio_base, (unsigned long long)un->mmio_size,
                    un->segment, un->has_bdf ? ", PCI function " : "", bdf, un->has_bdf ? " (hidden)" : "");
    }
}

void iommu_report_register(const struct iommu_info *io) { platform_report_add(REPORT_IOMMU, iommu_fill, io); }
