/* See platform_report.h. */
#include "lib/platform_report.h"
#include "lib/lib.h"

#include <stdarg.h>

#define REPORT_LINE_MAX 200

struct report_sink {
    void (*out)(void *ctx, const char *line);
    void *ctx;
    const char *section;
    int lines; /* written for the current section */
};

static const char *const section_name[REPORT_SECTIONS] = {
    [REPORT_CPU] = "cpu",       [REPORT_IOMMU] = "iommu",   [REPORT_PCI] = "pci",
    [REPORT_MEMORY] = "memory", [REPORT_SERIAL] = "serial", [REPORT_EVENTS] = "events",
};

static struct {
    enum report_section section;
    report_fill_fn fill;
    const void *ctx;
} hooks[REPORT_MAX_HOOKS];
static int nhooks;

bool platform_report_add(enum report_section section, report_fill_fn fill, const void *ctx)
{
    if (nhooks == REPORT_MAX_HOOKS || (unsigned)section >= REPORT_SECTIONS || !fill)
        return false;
    for (int i = 0; i < nhooks; i++)
        if (hooks[i].fill == fill && hooks[i].ctx == ctx)
            return true; /* registered twice (an init run again): once is enough */
    hooks[nhooks].section = section;
    hooks[nhooks].fill = fill;
    hooks[nhooks].ctx = ctx;
    nhooks++;
    return true;
}

void platform_report_reset(void) { nhooks = 0; }

void report_line(struct report_sink *s, const char *fmt, ...)
{
    char text[REPORT_LINE_MAX], line[REPORT_LINE_MAX + 16];
    va_list ap;

    va_start(ap, fmt);
    fmt_vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    fmt_snprintf(line, sizeof(line), "%-8s %s", s->section, text);
    s->out(s->ctx, line);
    s->lines++;
}

void platform_report(void (*out)(void *ctx, const char *line), void *ctx)
{
    struct report_sink s = { .out = out, .ctx = ctx };

    out(ctx, "Postern platform report (send it with a bug report: REPORT-BUG.txt on the stick)");
    for (int sec = 0; sec < REPORT_SECTIONS; sec++) {
        s.section = section_name[sec];
        s.lines = 0;
        for (int i = 0; i < nhooks; i++)
            if ((int)hooks[i].section == sec)
                hooks[i].fill(&s, hooks[i].ctx);
        if (!s.lines)
            report_line(&s, "(nothing reported)");
    }
}
