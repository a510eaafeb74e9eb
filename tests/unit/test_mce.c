/* UNIT-SOURCES: hv/core/mce.c hv/lib/fmt.c */
/*
 * The machine-check report (hv/core/mce.c, docs/events.md) over fake MCA registers: every bank with
 * a valid error gets a line with its status and address, MCG_STATUS and who was running; the
 * address only where ADDRV says it is valid.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "log_capture.h"
#include "core/mce.h"

static u64 msrs[0x500];

static u64 fake_rdmsr(u32 msr) { return msr < 0x500 ? msrs[msr] : 0; }

static void setup_banks(unsigned n)
{
    memset(msrs, 0, sizeof(msrs));
    msrs[MSR_MCG_CAP] = 0x100 | n; /* MCG_CTL_P, n banks */
    msrs[MSR_MCG_STATUS] = MCG_STATUS_RIPV | MCG_STATUS_MCIP;
    logbuf[0] = 0;
}

/* What QEMU's monitor `mce 0 2 0xb400000000000135 0x5 0x7fe00000 0` leaves (mce-report). */
static void guest_bank_with_address(void **state)
{
    setup_banks(10);
    msrs[0x400 + 4 * 2 + 1] = 0xb400000000000135ull;
    msrs[0x400 + 4 * 2 + 2] = 0x7fe00000;
    assert_int_equal(mce_report(fake_rdmsr, true, 0x401000), 1);
    assert_non_null(strstr(logbuf, "mce: bank 2 MCi_STATUS 0xb400000000000135 MCi_ADDR 0x7fe00000 MCG_STATUS 0x5 "
                                   "while the guest ran (rip 0x401000), uncorrected\n"));
}

static void hypervisor_two_banks_address_not_valid(void **state)
{
    setup_banks(6);
    msrs[0x400 + 4 * 0 + 1] = MCI_STATUS_VAL | MCI_STATUS_UC | MCI_STATUS_EN | MCI_STATUS_PCC | 0x10;
    msrs[0x400 + 4 * 0 + 2] = 0xdead000; /* not valid: not shown */
    msrs[0x400 + 4 * 5 + 1] = MCI_STATUS_VAL | MCI_STATUS_ADDRV | 0x17a;
    msrs[0x400 + 4 * 5 + 2] = 0x1234000;
    assert_int_equal(mce_report(fake_rdmsr, false, 0xffff800000001000ull), 2);
    assert_non_null(
        strstr(logbuf, "mce: bank 0 MCi_STATUS 0xb200000000000010 MCi_ADDR 0x0 (not valid) MCG_STATUS 0x5 "
                       "while the hypervisor ran (rip 0xffff800000001000), uncorrected, processor context corrupt\n"));
    assert_non_null(strstr(logbuf, "mce: bank 5 MCi_STATUS 0x840000000000017a MCi_ADDR 0x1234000 MCG_STATUS 0x5 "
                                   "while the hypervisor ran (rip 0xffff800000001000), corrected\n"));
}

static void no_valid_bank(void **state)
{
    setup_banks(4);
    msrs[0x400 + 4 * 9 + 1] = MCI_STATUS_VAL; /* beyond MCG_CAP's count: not read */
    assert_int_equal(mce_report(fake_rdmsr, true, 0x1000), 0);
    assert_non_null(strstr(logbuf, "mce: machine check while the guest ran (rip 0x1000), MCG_STATUS 0x5: no bank of 4 "
                                   "holds a valid error"));
}

/* A machine check while the hypervisor ran goes to the guest only when it can restart, no context
 * is corrupt and no address is the hypervisor's (mce_host_recoverable). */
static void host_recoverable_only_outside_hypervisor_memory(void **state)
{
    const struct mce_range hv[2] = { { 0x37b75000, 64ull << 20 }, { 0x3dc37000, 820 << 10 } };

    setup_banks(10);
    msrs[0x400 + 4 * 2 + 1] = 0xb400000000000135ull; /* mce-report's: UC, ADDRV, no PCC */
    msrs[0x400 + 4 * 2 + 2] = 0x7fe00000;
    assert_true(mce_host_recoverable(fake_rdmsr, hv, 2));
    msrs[0x400 + 4 * 2 + 2] = 0x37b75000 + 0x1000; /* the hypervisor's pool */
    assert_false(mce_host_recoverable(fake_rdmsr, hv, 2));
    msrs[0x400 + 4 * 2 + 2] = 0x3dc37000 + (820 << 10) - 8; /* the last bytes of its image */
    assert_false(mce_host_recoverable(fake_rdmsr, hv, 2));
    msrs[0x400 + 4 * 2 + 2] = 0x3dc37000 + (820 << 10); /* just past it */
    assert_true(mce_host_recoverable(fake_rdmsr, hv, 2));
    msrs[0x400 + 4 * 2 + 1] &= ~MCI_STATUS_ADDRV; /* no address: the guest's to handle */
    msrs[0x400 + 4 * 2 + 2] = 0x37b75000;
    assert_true(mce_host_recoverable(fake_rdmsr, hv, 2));
    msrs[0x400 + 4 * 2 + 1] |= MCI_STATUS_PCC; /* processor context corrupt */
    assert_false(mce_host_recoverable(fake_rdmsr, hv, 2));
    msrs[0x400 + 4 * 2 + 1] &= ~MCI_STATUS_PCC;
    msrs[MSR_MCG_STATUS] = MCG_STATUS_MCIP; /* no RIPV: the interrupted code cannot go on */
    assert_false(mce_host_recoverable(fake_rdmsr, hv, 2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(guest_bank_with_address),
        cmocka_unit_test(hypervisor_two_banks_address_not_valid),
        cmocka_unit_test(no_valid_bank),
        cmocka_unit_test(host_recoverable_only_outside_hypervisor_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
