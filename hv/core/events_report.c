/* See events_report.h. */
#include "core/events_report.h"
#include "arch/x86_64/traps.h"
#include "core/mce.h"
#include "lib/platform_report.h"

static void events_fill(struct report_sink *s, const void *ctx)
{
    u64 mc_guest, mc_hv;

    mce_seen(&mc_guest, &mc_hv);
    report_line(s,
                "NMIs taken by the hypervisor: %llu; machine checks: %llu while the guest ran, %llu in the "
                "hypervisor (each logged with its banks: \"mce:\" lines)",
                (unsigned long long)traps_nmis_seen, (unsigned long long)mc_guest, (unsigned long long)mc_hv);
}

void events_report_register(void) { platform_report_add(REPORT_EVENTS, events_fill, NULL); }
