/* The guest's IPIs: see apic_icr.h for the policy and docs/events.md for why. */
#include "platform/apic_icr.h"
#include "lib/log.h"

static u32 destination(u64 icr, bool x2apic) { return x2apic ? (u32)(icr >> 32) : (u32)(icr >> 56); }

enum icr_verdict apic_icr_check(u64 icr, bool x2apic, u32 self)
{
    u32 mode = ((u32)icr & ICR_MODE_MASK) >> ICR_MODE_SHIFT;
    u32 sh = ICR_SHORTHAND((u32)icr);

    if (mode != ICR_MODE_INIT && mode != ICR_MODE_STARTUP)
        return ICR_PASS;
    /* An INIT level de-assert (the second half of the old INIT sequence) resets nothing on a
     * current CPU, but it only ever goes with an INIT to another core: refused with it. */
    if (mode == ICR_MODE_STARTUP || !((u32)icr & ICR_LEVEL_ASSERT))
        return ICR_REFUSE;
    if (sh == ICR_SH_SELF)
        return ICR_RESET_SELF;
    if (sh == ICR_SH_NONE && !((u32)icr & ICR_DEST_LOGICAL) && destination(icr, x2apic) == self)
        return ICR_RESET_SELF;
    return ICR_REFUSE; /* another core, all of them, or a logical destination that may hold others */
}

const char *apic_icr_describe(u64 icr, bool x2apic, char *buf, size_t size)
{
    static const char *const modes[8] = { "fixed IPI", "lowest-priority IPI", "SMI", "mode-3 IPI", "NMI", "INIT",
                                          "SIPI",      "mode-7 IPI" };
    u32 mode = ((u32)icr & ICR_MODE_MASK) >> ICR_MODE_SHIFT;
    u32 sh = ICR_SHORTHAND((u32)icr);
    const char *deassert = mode == ICR_MODE_INIT && !((u32)icr & ICR_LEVEL_ASSERT) ? " de-assert" : "";

    if (sh == ICR_SH_SELF)
        fmt_snprintf(buf, size, "%s%s (vector 0x%x) to self", modes[mode], deassert, (u32)icr & 0xff);
    else if (sh == ICR_SH_ALL || sh == ICR_SH_OTHERS)
        fmt_snprintf(buf, size, "%s%s (vector 0x%x) to all%s", modes[mode], deassert, (u32)icr & 0xff,
                     sh == ICR_SH_OTHERS ? " but self" : "");
    else
        fmt_snprintf(buf, size, "%s%s (vector 0x%x) to %s APIC %u", modes[mode], deassert, (u32)icr & 0xff,
                     ((u32)icr & ICR_DEST_LOGICAL) ? "logical" : "physical", destination(icr, x2apic));
    return buf;
}
