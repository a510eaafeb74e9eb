/*
 * What a guest's write to its local APIC's interrupt command register may do (docs/events.md,
 * "INIT and SIPI"). The guest sees one CPU; the other cores are Postern's, parked. INIT and
 * startup IPIs would wake them into guest code with no nested paging and no IOMMU, or reset the
 * guest's own core under the hypervisor, so the ICR is trapped (x2APIC: MSR 830h; xAPIC: the APIC
 * page, offsets 300h/310h) and every write is judged here: any other IPI (fixed, NMI, ...) passes
 * to the real APIC, an INIT to the guest's own core alone becomes a guest reset request, and every
 * other INIT or SIPI is refused (the SMP issue will mediate them). Pure: unit-tested.
 */
#ifndef POSTERN_APIC_ICR_H
#define POSTERN_APIC_ICR_H

#include "lib/types.h"

#define MSR_X2APIC_ICR   0x830u
#define APIC_ICR_LOW     0x300u /* xAPIC page offsets */
#define APIC_ICR_HIGH    0x310u
#define ICR_MODE_SHIFT   8
#define ICR_MODE_MASK    (7u << ICR_MODE_SHIFT)
#define ICR_MODE_NMI     4u
#define ICR_MODE_INIT    5u
#define ICR_MODE_STARTUP 6u
#define ICR_DEST_LOGICAL BIT(11)
#define ICR_LEVEL_ASSERT BIT(14)
#define ICR_TRIGGER_LVL  BIT(15)
#define ICR_SHORTHAND(v) (((v) >> 18) & 3u)
#define ICR_SH_NONE      0u
#define ICR_SH_SELF      1u
#define ICR_SH_ALL       2u /* all including self */
#define ICR_SH_OTHERS    3u /* all excluding self */

enum icr_verdict {
    ICR_PASS,       /* not INIT or SIPI: written to the real register */
    ICR_RESET_SELF, /* INIT to the guest's own core only: a guest reset request */
    ICR_REFUSE,     /* INIT or SIPI to another core (or to all, or logically addressed): dropped */
};

/* icr: the 64-bit command (x2APIC: the MSR's value, destination in bits 63:32; xAPIC: ICR_HIGH in
 * bits 63:32, destination in its bits 31:24). self: the guest core's APIC ID. */
enum icr_verdict apic_icr_check(u64 icr, bool x2apic, u32 self);

/* "INIT to APIC 1", "SIPI (vector 0x9a) to all but self", ... for the log; buf of 48 bytes. */
const char *apic_icr_describe(u64 icr, bool x2apic, char *buf, size_t size);

#endif
