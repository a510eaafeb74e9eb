/* UNIT-SOURCES: hv/platform/mptable.c hv/lib/fmt.c */
/* The guest's MP table: read back the way Linux 6.1's mpparse.c reads it (signatures, lengths,
 * checksums, entries walked by type), and every refusal. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "platform/mptable.h"
#include "lib/bytes.h"

#define GPA 0xf0000u
static u8 buf[4096];

static u8 sum(const u8 *p, u32 n)
{
    u8 s = 0;
    while (n--)
        s += *p++;
    return s;
}

static struct mptable_platform plat(void)
{
    struct mptable_platform p = {
        .bsp_apic_id = 0,
        .lapic_version = 0x14,
        .cpu_signature = 0x50654,
        .cpu_features = 0x0781abfd,
        .lapic_addr = 0xfee00000,
        .ioapic_id = 1,
        .ioapic_version = 0x11,
        .ioapic_pins = 24,
        .ioapic_addr = 0xfec00000,
    };
    return p;
}

/* An I/O interrupt entry for (bus, irq) in the table, or NULL. */
static const u8 *find_int(const u8 *mpc, u8 type, u8 bus, u8 irq)
{
    u16 len = rd16(mpc, 4);
    for (u32 off = 44; off < len;) {
        const u8 *e = mpc + off;
        if (e[0] == type && e[4] == bus && e[5] == irq)
            return e;
        off += e[0] == 0 ? 20 : 8;
    }
    return NULL;
}

static void test_layout_linux_reads(void **state)
{
    struct mptable_platform p = plat();
    u32 used = 0;
    char err[160];

    p.pci_count = 2;
    p.pci[0] = (struct mptable_pci_irq){ .dev = 3, .pin = 0, .ioapic_pin = 18 };
    p.pci[1] = (struct mptable_pci_irq){ .dev = 4, .pin = 1, .ioapic_pin = 16 };
    memset(buf, 0xaa, sizeof(buf));
    assert_int_equal(mptable_build(buf, sizeof(buf), GPA, &p, &used, err, sizeof(err)), 0);
    assert_int_equal(used, mptable_size(&p));
    assert_int_equal(buf[used], 0xaa); /* nothing past the table */

    /* Floating pointer: smp_scan_config's test. */
    assert_memory_equal(buf, "_MP_", 4);
    assert_int_equal(buf[8], 1);
    assert_true(buf[9] == 1 || buf[9] == 4);
    assert_int_equal(sum(buf, 16), 0);
    assert_int_equal(buf[11], 0); /* not a default configuration: the table follows */
    assert_int_equal(rd32(buf, 4), GPA + 16);

    /* Configuration table: smp_check_mpc's tests. */
    const u8 *mpc = buf + 16;
    assert_memory_equal(mpc, "PCMP", 4);
    assert_int_equal(rd16(mpc, 4), used - 16);
    assert_int_equal(sum(mpc, rd16(mpc, 4)), 0);
    assert_true(mpc[6] == 1 || mpc[6] == 4);
    assert_int_equal(rd32(mpc, 36), 0xfee00000);

    /* Walk as smp_read_mpc does: every entry a known type, the count as the header says. */
    u32 n = 0, cpus = 0, ioapics = 0, buses = 0;
    for (u32 off = 44; off < rd16(mpc, 4); n++) {
        const u8 *e = mpc + off;
        assert_true(e[0] <= 4);
        if (e[0] == 0) {
            cpus++;
            assert_int_equal(e[1], 0);
            assert_int_equal(e[3], 3); /* enabled, boot processor */
            assert_int_equal(rd32(e, 4), 0x50654);
        } else if (e[0] == 1) {
            buses++;
            assert_memory_equal(e + 2, e[1] == 0 ? "PCI   " : "ISA   ", 6);
        } else if (e[0] == 2) {
            ioapics++;
            assert_int_equal(e[1], 1);
            assert_int_equal(e[3] & 1, 1);
            assert_int_equal(rd32(e, 4), 0xfec00000);
        }
        off += e[0] == 0 ? 20 : 8;
        assert_true(off <= rd16(mpc, 4));
    }
    assert_int_equal(n, rd16(mpc, 34));
    assert_int_equal(cpus, 1);
    assert_int_equal(ioapics, 1);
    assert_int_equal(buses, 2);

    /* ISA: IRQ 0 on pin 2, no IRQ 2, IRQ 4 (COM1) on pin 4, all to I/O APIC 1, edge. */
    const u8 *e = find_int(mpc, 3, 1, 0);
    assert_non_null(e);
    assert_int_equal(e[7], 2);
    assert_null(find_int(mpc, 3, 1, 2));
    for (u8 irq = 1; irq < 16; irq++) {
        if (irq == 2)
            continue;
        e = find_int(mpc, 3, 1, irq);
        assert_non_null(e);
        assert_int_equal(e[6], 1);
        assert_int_equal(e[7], irq);
        assert_int_equal(rd16(e, 2), 0);
    }
    /* PCI: source IRQ = device << 2 | pin, level and active low. */
    e = find_int(mpc, 3, 0, 3 << 2 | 0);
    assert_non_null(e);
    assert_int_equal(e[7], 18);
    assert_int_equal(rd16(e, 2), 0x0f);
    e = find_int(mpc, 3, 0, 4 << 2 | 1);
    assert_non_null(e);
    assert_int_equal(e[7], 16);
    /* Local: ExtINT on LINT0, NMI on LINT1, every local APIC. */
    e = find_int(mpc, 4, 1, 0);
    assert_non_null(e);
    assert_int_equal(e[1], 3);
    assert_int_equal(e[6], 0xff);
    assert_int_equal(e[7], 0);
}

static void test_refusals(void **state)
{
    struct mptable_platform p = plat();
    u32 used = 0;
    char err[160];

    memset(buf, 0xaa, sizeof(buf));
    assert_int_equal(mptable_build(buf, mptable_size(&p) - 1, GPA, &p, &used, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "bytes needed"));
    assert_int_equal(buf[0], 0xaa); /* nothing written */
    assert_int_equal(mptable_build(buf, sizeof(buf), GPA + 8, &p, &used, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "aligned"));
    assert_int_equal(mptable_build(buf, sizeof(buf), 0xfffffff0ull, &p, &used, err, sizeof(err)), -1);

    p.bsp_apic_id = 0xff;
    assert_int_equal(mptable_build(buf, sizeof(buf), GPA, &p, &used, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "APIC ID"));
    p = plat();
    p.ioapic_pins = 15;
    assert_int_equal(mptable_build(buf, sizeof(buf), GPA, &p, &used, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "pins"));
    p = plat();
    p.ioapic_addr = 0;
    assert_int_equal(mptable_build(buf, sizeof(buf), GPA, &p, &used, err, sizeof(err)), -1);
    p = plat();
    p.pci_count = MPTABLE_MAX_PCI + 1;
    assert_int_equal(mptable_build(buf, sizeof(buf), GPA, &p, &used, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "at most"));
    p = plat();
    p.pci_count = 1;
    p.pci[0] = (struct mptable_pci_irq){ .dev = 3, .pin = 4, .ioapic_pin = 18 };
    assert_int_equal(mptable_build(buf, sizeof(buf), GPA, &p, &used, err, sizeof(err)), -1);
    p.pci[0] = (struct mptable_pci_irq){ .dev = 32, .pin = 0, .ioapic_pin = 18 };
    assert_int_equal(mptable_build(buf, sizeof(buf), GPA, &p, &used, err, sizeof(err)), -1);
    p.pci[0] = (struct mptable_pci_irq){ .dev = 3, .pin = 0, .ioapic_pin = 24 }; /* pins 0-23 */
    assert_int_equal(mptable_build(buf, sizeof(buf), GPA, &p, &used, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "out of range"));
    assert_int_equal(buf[0], 0xaa);
}

/* Bochs 2.7's PIIX3: PIRQ (dev + INTx# - 2) mod 4 with INTx# 1-based, on I/O APIC pin 16 + PIRQ. */
static void test_piix_swizzle(void **state)
{
    assert_int_equal(mptable_piix_ioapic_pin(1, 0), 16);
    assert_int_equal(mptable_piix_ioapic_pin(2, 0), 17);
    assert_int_equal(mptable_piix_ioapic_pin(3, 0), 18);
    assert_int_equal(mptable_piix_ioapic_pin(4, 0), 19);
    assert_int_equal(mptable_piix_ioapic_pin(5, 0), 16);
    assert_int_equal(mptable_piix_ioapic_pin(0, 0), 19);
    assert_int_equal(mptable_piix_ioapic_pin(3, 1), 19);
    assert_int_equal(mptable_piix_ioapic_pin(3, 3), 17);
    assert_int_equal(mptable_piix_ioapic_pin(31, 3), 17);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_linux_reads),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_piix_swizzle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
