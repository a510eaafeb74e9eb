/* UNIT-SOURCES: hv/platform/guest_irq.c hv/lib/fmt.c */
/* Which I/O APIC pin an ISA IRQ arrives on, from the MADT. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "platform/guest_irq.h"

static u8 madt[256];
static u32 len;

static void start(void)
{
    memset(madt, 0, sizeof(madt));
    memcpy(madt, "APIC", 4);
    len = 44;
}
static void ioapic(u32 addr, u32 base)
{
    u8 *e = madt + len;
    e[0] = 1;
    e[1] = 12;
    e[2] = 0;
    memcpy(e + 4, &addr, 4);
    memcpy(e + 8, &base, 4);
    len += 12;
}
static void iso(u8 irq, u32 gsi)
{
    u8 *e = madt + len;
    e[0] = 2;
    e[1] = 10;
    e[2] = 0;
    e[3] = irq;
    memcpy(e + 4, &gsi, 4);
    len += 10;
}

static void test_identity_and_override(void **state)
{
    struct isa_irq_route r;
    char err[120];
    start();
    iso(0, 2);
    ioapic(0xfec00000, 0);
    assert_int_equal(guest_irq_route(madt, len, 4, &r, err, sizeof(err)), 0);
    assert_int_equal(r.ioapic, 0xfec00000);
    assert_int_equal(r.gsi, 4);
    assert_int_equal(guest_irq_route(madt, len, 0, &r, err, sizeof(err)), 0);
    assert_int_equal(r.gsi, 2);
    iso(4, 30); /* moved to the second I/O APIC */
    ioapic(0xfec01000, 24);
    assert_int_equal(guest_irq_route(madt, len, 4, &r, err, sizeof(err)), 0);
    assert_int_equal(r.ioapic, 0xfec01000);
    assert_int_equal(r.gsi_base, 24);
    assert_int_equal(r.gsi, 30);
}

static void test_refusals(void **state)
{
    struct isa_irq_route r;
    char err[120];
    start();
    assert_int_equal(guest_irq_route(madt, len, 4, &r, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no I/O APIC in the MADT serves ISA IRQ 4"));
    assert_int_equal(guest_irq_route(madt, 20, 4, &r, err, sizeof(err)), -1);
    ioapic(0xfec00000, 100); /* serves GSIs from 100: not IRQ 4 */
    assert_int_equal(guest_irq_route(madt, len, 4, &r, err, sizeof(err)), -1);
    /* A truncated or zero-length entry ends the walk instead of looping or overreading. */
    start();
    madt[44] = 1;
    madt[45] = 0;
    assert_int_equal(guest_irq_route(madt, 46, 4, &r, err, sizeof(err)), -1);
    start();
    ioapic(0xfec00000, 0);
    assert_int_equal(guest_irq_route(madt, len - 1, 4, &r, err, sizeof(err)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity_and_override),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
