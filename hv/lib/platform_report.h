/*
 * The platform report (issue 17): one screen for the first boot on a new machine, printed at boot
 * and by the admin shell's `platform`, and what tools/REPORT-BUG.txt asks an administrator to send.
 * This module only collects and prints: each part of the hypervisor that knows something about the
 * machine registers a hook (once, at its init) that fills its own lines, and the report prints the
 * sections in the order below, each hook in the order it registered. A part that changes (the
 * IOMMU units, the PCI roots, the tick, the serial port) changes its own hook and nothing here.
 */
#ifndef POSTERN_PLATFORM_REPORT_H
#define POSTERN_PLATFORM_REPORT_H

#include "lib/types.h"
#include "lib/log.h" /* PRINTF_LIKE */

enum report_section {
    REPORT_CPU,    /* vendor, family/model, the virtualization features used and missing */
    REPORT_IOMMU,  /* each unit: kind, registers, PCI function */
    REPORT_PCI,    /* segments, root buses, the guarded and hidden functions */
    REPORT_MEMORY, /* the firmware's memory map, summarised; guest RAM and the hypervisor's pool */
    REPORT_SERIAL, /* the port in use and where the choice came from */
    REPORT_EVENTS, /* NMIs and machine checks seen */
    REPORT_SECTIONS
};

/* Where a hook writes: report_line formats one line (no newline) into it. */
struct report_sink;
void report_line(struct report_sink *s, const char *fmt, ...) PRINTF_LIKE(2, 3);

typedef void (*report_fill_fn)(struct report_sink *s, const void *ctx);

/* Register a hook for a section (ctx is handed back to it). False when the table of hooks is full
 * (REPORT_MAX_HOOKS: one per part, with room to spare); the hook is then left out of the report. */
#define REPORT_MAX_HOOKS 32
bool platform_report_add(enum report_section section, report_fill_fn fill, const void *ctx);

/* The whole report, one call of out per line, each line "SECTION  text" (e.g. "iommu    AMD-Vi
 * ..."), a header line first. A section no hook filled says "(nothing reported)". */
void platform_report(void (*out)(void *ctx, const char *line), void *ctx);

/* Forget every hook (host tests). */
void platform_report_reset(void);

#endif
