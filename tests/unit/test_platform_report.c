/* UNIT-SOURCES: hv/lib/platform_report.c hv/lib/fmt.c */
/*
 * The platform report's collector: sections print in their fixed order whatever order the hooks
 * registered in, each line carries its section's name, an empty section says so, a hook gets its
 * context back, registering twice prints once, and a full table refuses more hooks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "lib/platform_report.h"

static char out[4096];
static int nlines;

static void collect(void *ctx, const char *line)
{
    strncat(out, line, sizeof(out) - strlen(out) - 2);
    strcat(out, "\n");
    nlines++;
}

static void fill_serial(struct report_sink *s, const void *ctx) { report_line(s, "port 0x%x", *(const unsigned *)ctx); }
static void fill_cpu(struct report_sink *s, const void *ctx)
{
    report_line(s, "vendor %s", "AuthenticAMD");
    report_line(s, "second line");
}
static void fill_nothing(struct report_sink *s, const void *ctx) {}

static int setup(void **state)
{
    platform_report_reset();
    out[0] = 0;
    nlines = 0;
    return 0;
}

static void sections_print_in_order(void **state)
{
    static const unsigned port = 0x2f8;

    assert_true(platform_report_add(REPORT_SERIAL, fill_serial, &port));
    assert_true(platform_report_add(REPORT_CPU, fill_cpu, NULL));
    assert_true(platform_report_add(REPORT_CPU, fill_cpu, NULL)); /* twice: printed once */
    assert_true(platform_report_add(REPORT_IOMMU, fill_nothing, NULL));
    platform_report(collect, NULL);
    assert_string_equal(out, "Postern platform report (send it with a bug report: REPORT-BUG.txt on the stick)\n"
                             "cpu      vendor AuthenticAMD\n"
                             "cpu      second line\n"
                             "iommu    (nothing reported)\n"
                             "pci      (nothing reported)\n"
                             "memory   (nothing reported)\n"
                             "serial   port 0x2f8\n"
                             "events   (nothing reported)\n");
}

static void bad_hooks_are_refused(void **state)
{
    static int ctx[REPORT_MAX_HOOKS + 1];

    assert_false(platform_report_add(REPORT_SECTIONS, fill_cpu, NULL));
    assert_false(platform_report_add(REPORT_CPU, NULL, NULL));
    for (int i = 0; i < REPORT_MAX_HOOKS; i++)
        assert_true(platform_report_add(REPORT_EVENTS, fill_nothing, &ctx[i]));
    assert_false(platform_report_add(REPORT_EVENTS, fill_nothing, &ctx[REPORT_MAX_HOOKS]));
    platform_report(collect, NULL);
    assert_int_equal(nlines, 1 + REPORT_SECTIONS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(sections_print_in_order, setup),
        cmocka_unit_test_setup(bad_hooks_are_refused, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
