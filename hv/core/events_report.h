/* The platform report's events line (hv/lib/platform_report.h): NMIs and machine checks seen. */
#ifndef POSTERN_EVENTS_REPORT_H
#define POSTERN_EVENTS_REPORT_H

void events_report_register(void);

#endif
