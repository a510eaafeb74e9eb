/* Machine-check reports: see mce.h and docs/events.md. */
#include "core/mce.h"
#include "lib/log.h"

#define MCE_MAX_BANKS 64

static u64 seen_guest, seen_hv;

void mce_seen(u64 *in_guest, u64 *in_hypervisor)
{
    *in_guest = seen_guest;
    *in_hypervisor = seen_hv;
}

unsigned mce_report(mce_rdmsr_fn rd, bool guest_running, u64 rip)
{
    if (guest_running)
        seen_guest++;
    else
        seen_hv++;
    u64 cap = rd(MSR_MCG_CAP), mcg = rd(MSR_MCG_STATUS);
    unsigned banks = (unsigned)(cap & MCG_CAP_COUNT), reported = 0;
    const char *who = guest_running ? "the guest" : "the hypervisor";

    if (banks > MCE_MAX_BANKS)
        banks = MCE_MAX_BANKS;
    for (unsigned i = 0; i < banks; i++) {
        u64 status = rd(MSR_MC0_CTL + 4 * i + 1);
        u64 addr = 0;

        if (!(status & MCI_STATUS_VAL))
            continue;
        if (status & MCI_STATUS_ADDRV)
            addr = rd(MSR_MC0_CTL + 4 * i + 2);
        LOG("mce: bank %u MCi_STATUS 0x%llx MCi_ADDR 0x%llx%s MCG_STATUS 0x%llx while %s ran (rip 0x%llx)%s%s", i,
            (unsigned long long)status, (unsigned long long)addr, (status & MCI_STATUS_ADDRV) ? "" : " (not valid)",
            (unsigned long long)mcg, who, (unsigned long long)rip,
            (status & MCI_STATUS_UC) ? ", uncorrected" : ", corrected",
            (status & MCI_STATUS_PCC) ? ", processor context corrupt" : "");
        reported++;
    }
    if (!reported)
        LOG("mce: machine check while %s ran (rip 0x%llx), MCG_STATUS 0x%llx: no bank of %u holds a valid error", who,
            (unsigned long long)rip, (unsigned long long)mcg, banks);
    return reported;
}

bool mce_host_recoverable(mce_rdmsr_fn rd, const struct mce_range *hv, unsigned n)
{
    u64 cap = rd(MSR_MCG_CAP), mcg = rd(MSR_MCG_STATUS);
    unsigned banks = (unsigned)(cap & MCG_CAP_COUNT);

    if (!(mcg & MCG_STATUS_RIPV))
        return false;
    if (banks > MCE_MAX_BANKS)
        banks = MCE_MAX_BANKS;
    for (unsigned i = 0; i < banks; i++) {
        u64 status = rd(MSR_MC0_CTL + 4 * i + 1), addr;

        if (!(status & MCI_STATUS_VAL))
            continue;
        if (status & MCI_STATUS_PCC)
            return false;
        if (!(status & MCI_STATUS_ADDRV))
            continue;
        addr = rd(MSR_MC0_CTL + 4 * i + 2);
        for (unsigned r = 0; r < n; r++)
            if (addr - hv[r].base < hv[r].size)
                return false;
    }
    return true;
}
