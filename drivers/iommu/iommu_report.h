/* The platform report's IOMMU lines (hv/lib/platform_report.h): each unit the ACPI tables named,
 * its registers and PCI function, and whether translation is on. */
#ifndef POSTERN_IOMMU_REPORT_H
#define POSTERN_IOMMU_REPORT_H

#include "drivers/iommu/iommu.h"

/* io is read when the report is printed (so the fault count is current). */
void iommu_report_register(const struct iommu_info *io);

#endif
