/* The platform report's memory lines (hv/lib/platform_report.h): the firmware's memory map
 * summarised, where guest RAM and the hypervisor's pool are, the device windows the guest reaches. */
#ifndef POSTERN_MEMMAP_REPORT_H
#define POSTERN_MEMMAP_REPORT_H

#include "core/boot_info.h"

/* bi is read when the report is printed; it lives as long as the hypervisor. */
void memmap_report_register(const struct boot_info *bi);

#endif
