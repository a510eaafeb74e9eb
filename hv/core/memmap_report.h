/* The platform report's memory lines (hv/lib/platform_report.h): the guest's memory map (the
 * machine's, identity-mapped) summarised by kind, and what the hypervisor keeps. */
#ifndef POSTERN_MEMMAP_REPORT_H
#define POSTERN_MEMMAP_REPORT_H

#include "core/guest_physmap.h"

/* pm is read when the report is printed; it lives as long as the hypervisor. */
void memmap_report_register(const struct guest_physmap *pm);

#endif
