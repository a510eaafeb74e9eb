/* See events_report.h. */
#include "core/events_report.h"
#include "arch/x86_64/traps.h"
#include "core/mce.h"
#include "lib/platform_report.h"

static void events_fill(struct report_sink *s, const void *ctx)
{
    u64 mc_guest, mc_hv, nmi_guest, nmi_own;

    mce_seen(&mc_guest, &mc_hv);
    traps_nmi_stats(&nmi_guest, &nmi_own);
    report_line(s,
                "NMIs: %llu for the guest, %llu the hypervisor's own; machine checks: %llu while the guest ran, %llu "
                "in the hypervisor (each logged with its banks: \"mce:\" lines)",
                (unsigned long long)nmi_guest, (unsigned long long)nmi_own, (unsigned long long)mc_guest,
                (unsigned long long)mc_hv);
}

void events_report_register(void) { platform_report_add(REPORT_EVENTS, events_fill, NULL); }
