/* The platform report's serial line (hv/lib/platform_report.h): the port this line is, and how
 * it was chosen (docs/console.md, "Which UART"). */
#ifndef POSTERN_SERIAL_REPORT_H
#define POSTERN_SERIAL_REPORT_H

#include "core/boot_info.h"

void serial_report_register(const struct boot_info *bi);

#endif
