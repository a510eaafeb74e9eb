/* UNIT-SOURCES: hv/platform/apic_icr.c hv/lib/fmt.c */
/*
 * The guest's IPIs (hv/platform/apic_icr.c, docs/events.md): INIT and SIPI to another core are
 * refused, an INIT to the guest's own core is a reset request, every other IPI passes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "platform/apic_icr.h"

#define SELF  0u
#define OTHER 1u

static u64 icr(u32 mode, u32 vector, u32 sh, u32 dest, bool x2apic)
{
    u64 lo = vector | (mode << ICR_MODE_SHIFT) | ICR_LEVEL_ASSERT | (sh << 18);
    return lo | (x2apic ? (u64)dest << 32 : (u64)dest << 56);
}

static void init_and_sipi_to_another_core_refused(void **state)
{
    for (int x2 = 0; x2 < 2; x2++) {
        assert_int_equal(apic_icr_check(icr(ICR_MODE_INIT, 0, ICR_SH_NONE, OTHER, x2), x2, SELF), ICR_REFUSE);
        assert_int_equal(apic_icr_check(icr(ICR_MODE_STARTUP, 0x9a, ICR_SH_NONE, OTHER, x2), x2, SELF), ICR_REFUSE);
        assert_int_equal(apic_icr_check(icr(ICR_MODE_INIT, 0, ICR_SH_OTHERS, 0, x2), x2, SELF), ICR_REFUSE);
        assert_int_equal(apic_icr_check(icr(ICR_MODE_STARTUP, 0x9a, ICR_SH_OTHERS, 0, x2), x2, SELF), ICR_REFUSE);
        assert_int_equal(apic_icr_check(icr(ICR_MODE_INIT, 0, ICR_SH_ALL, 0, x2), x2, SELF), ICR_REFUSE);
        /* a SIPI to itself means nothing on a running core: refused too */
        assert_int_equal(apic_icr_check(icr(ICR_MODE_STARTUP, 0x9a, ICR_SH_SELF, 0, x2), x2, SELF), ICR_REFUSE);
        /* logical destination: it may name other cores */
        assert_int_equal(apic_icr_check(icr(ICR_MODE_INIT, 0, ICR_SH_NONE, SELF, x2) | ICR_DEST_LOGICAL, x2, SELF),
                         ICR_REFUSE);
        /* the INIT level de-assert of the old sequence */
        assert_int_equal(apic_icr_check((icr(ICR_MODE_INIT, 0, ICR_SH_ALL, 0, x2) & ~(u64)ICR_LEVEL_ASSERT) |
                                            ICR_TRIGGER_LVL,
                                        x2, SELF),
                         ICR_REFUSE);
    }
}

static void init_to_self_is_a_reset(void **state)
{
    for (int x2 = 0; x2 < 2; x2++) {
        assert_int_equal(apic_icr_check(icr(ICR_MODE_INIT, 0, ICR_SH_SELF, 0, x2), x2, SELF), ICR_RESET_SELF);
        assert_int_equal(apic_icr_check(icr(ICR_MODE_INIT, 0, ICR_SH_NONE, SELF, x2), x2, SELF), ICR_RESET_SELF);
        assert_int_equal(apic_icr_check(icr(ICR_MODE_INIT, 0, ICR_SH_NONE, 3, x2), x2, 3), ICR_RESET_SELF);
    }
    /* xAPIC's destination is bits 63:56 only; x2APIC's the whole high dword */
    assert_int_equal(apic_icr_check(icr(ICR_MODE_INIT, 0, ICR_SH_NONE, 0x100, true), true, 0), ICR_REFUSE);
}

static void other_ipis_pass(void **state)
{
    for (int x2 = 0; x2 < 2; x2++) {
        assert_int_equal(apic_icr_check(icr(0, 0xfd, ICR_SH_SELF, 0, x2), x2, SELF), ICR_PASS);
        assert_int_equal(apic_icr_check(icr(0, 0xfd, ICR_SH_NONE, OTHER, x2), x2, SELF), ICR_PASS);
        assert_int_equal(apic_icr_check(icr(ICR_MODE_NMI, 0, ICR_SH_SELF, 0, x2), x2, SELF), ICR_PASS);
        assert_int_equal(apic_icr_check(icr(ICR_MODE_NMI, 0, ICR_SH_OTHERS, 0, x2), x2, SELF), ICR_PASS);
    }
}

static void describe(void **state)
{
    char buf[64];

    assert_string_equal(apic_icr_describe(icr(ICR_MODE_STARTUP, 0x9a, ICR_SH_NONE, 1, false), false, buf, sizeof(buf)),
                        "SIPI (vector 0x9a) to physical APIC 1");
    assert_string_equal(apic_icr_describe(icr(ICR_MODE_INIT, 0, ICR_SH_OTHERS, 0, true), true, buf, sizeof(buf)),
                        "INIT (vector 0x0) to all but self");
    assert_string_equal(apic_icr_describe(icr(ICR_MODE_INIT, 0, ICR_SH_SELF, 0, true), true, buf, sizeof(buf)),
                        "INIT (vector 0x0) to self");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(init_and_sipi_to_another_core_refused),
        cmocka_unit_test(init_to_self_is_a_reset),
        cmocka_unit_test(other_ipis_pass),
        cmocka_unit_test(describe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
