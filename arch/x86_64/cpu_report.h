/* The platform report's first lines (hv/lib/platform_report.h): which CPU this is. The backend in
 * use adds its own line on the virtualization features it uses and misses (svm.c, vmx.c). */
#ifndef POSTERN_CPU_REPORT_H
#define POSTERN_CPU_REPORT_H

void cpu_report_register(void);

#endif
