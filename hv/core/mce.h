/*
 * Machine checks (docs/events.md): what the machine-check architecture's MSRs say, on the serial
 * line. Both backends intercept #MC always (exits.c: exit_machine_check reports it and delivers it
 * to the guest); one taken in the hypervisor itself (arch/x86_64/traps.c) is reported and stops it.
 */
#ifndef POSTERN_MCE_H
#define POSTERN_MCE_H

#include "lib/types.h"

#define MSR_MCG_CAP      0x179u
#define MSR_MCG_STATUS   0x17au
#define MSR_MC0_CTL      0x400u /* bank i: CTL, STATUS, ADDR, MISC at 0x400 + 4i + 0..3 */
#define MCG_CAP_COUNT    0xffu
#define MCG_STATUS_RIPV  BIT(0)
#define MCG_STATUS_EIPV  BIT(1)
#define MCG_STATUS_MCIP  BIT(2)
#define MCI_STATUS_VAL   BIT(63)
#define MCI_STATUS_OVER  BIT(62)
#define MCI_STATUS_UC    BIT(61)
#define MCI_STATUS_EN    BIT(60)
#define MCI_STATUS_MISCV BIT(59)
#define MCI_STATUS_ADDRV BIT(58)
#define MCI_STATUS_PCC   BIT(57)

typedef u64 (*mce_rdmsr_fn)(u32 msr);

/* Print "mce: bank N MCi_STATUS ... MCi_ADDR ... MCG_STATUS ... while the guest|hypervisor ran
 * (rip R)" for every bank with a valid error (read through rd: the CPU's RDMSR in the hypervisor,
 * a fake in the unit tests), or one line saying no bank holds one. Returns the number of banks
 * reported. Banks are left as they are: the guest's handler, or the next boot, reads and clears them. */
unsigned mce_report(mce_rdmsr_fn rd, bool guest_running, u64 rip);
/* Machine checks reported so far (mce_report calls): while the guest ran, in the hypervisor. */
void mce_seen(u64 *in_guest, u64 *in_hypervisor);

/* Memory the hypervisor owns (its image, its page pool): an error there is its own. */
struct mce_range {
    u64 base, size;
};

/* A machine check taken while the hypervisor ran: can it go on and hand the error to the guest
 * (docs/events.md)? Only when the interrupted context can restart (MCG_STATUS.RIPV), no valid
 * bank says the processor context is corrupt (PCC), and no valid bank's address (ADDRV) lies in
 * the hypervisor's own memory (hv, n ranges). An error without an address is the guest's to
 * handle too: nothing ties it to the hypervisor, and the guest's handler reads the same banks. */
bool mce_host_recoverable(mce_rdmsr_fn rd, const struct mce_range *hv, unsigned n);

#endif
