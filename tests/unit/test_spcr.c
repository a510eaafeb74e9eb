/* UNIT-SOURCES: hv/platform/spcr.c hv/platform/acpi_host.c hv/lib/fmt.c */
/* The SPCR parser (serial = auto): tables as firmware publishes them, built here, and the one
 * tests/integration/mkspcr.py makes for the serial-spcr case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "platform/spcr.h"

static u8 t[96];
static struct spcr_uart u;
static char err[160];

static void fix_checksum(u32 len)
{
    u8 s = 0;
    t[9] = 0;
    for (u32 i = 0; i < len; i++)
        s = (u8)(s + t[i]);
    t[9] = (u8)-s;
}

/* A revision-2 SPCR: interface type, base address (GAS space, width, address), baud code, 8259 IRQ. */
static void build(u8 iftype, u8 space, u8 width, u64 addr, u8 baud_code, u8 irq)
{
    u32 len = SPCR_MIN_LEN;

    memset(t, 0, sizeof(t));
    memcpy(t, "SPCR", 4);
    memcpy(t + 4, &len, 4);
    t[8] = 2;
    memcpy(t + 10, "OEMID ", 6);
    t[36] = iftype;
    t[40] = space;
    t[41] = width;
    t[43] = space == SPCR_SPACE_IO ? 1 : 3;
    memcpy(t + 44, &addr, 8);
    t[52] = irq ? 1 : 0;
    t[53] = irq;
    t[58] = baud_code;
    t[60] = 1;
    t[64] = t[65] = t[66] = t[67] = 0xff;
    fix_checksum(len);
}

static int parse(u32 len)
{
    memset(err, 0, sizeof(err));
    return spcr_parse(t, len, &u, err, sizeof(err));
}

static void test_com2_at_115200(void **state)
{
    build(SPCR_IF_16550, SPCR_SPACE_IO, 8, 0x2f8, 7, 3);
    assert_int_equal(parse(SPCR_MIN_LEN), 0);
    assert_int_equal(u.revision, 2);
    assert_int_equal(u.space, SPCR_SPACE_IO);
    assert_int_equal(u.base, 0x2f8);
    assert_int_equal(u.baud, 115200);
    assert_int_equal(u.irq, 3);
    assert_int_equal(spcr_pick_io(&u, err, sizeof(err)), 0x2f8);
}

static void test_baud_codes(void **state)
{
    static const struct {
        u8 code;
        u32 baud;
    } codes[] = { { 0, 0 }, { 3, 9600 }, { 4, 19200 }, { 6, 57600 }, { 7, 115200 } };
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        build(SPCR_IF_16550, SPCR_SPACE_IO, 8, 0x3f8, codes[i].code, 4);
        assert_int_equal(parse(SPCR_MIN_LEN), 0);
        assert_int_equal(u.baud, codes[i].baud);
    }
    build(SPCR_IF_16550, SPCR_SPACE_IO, 8, 0x3f8, 5, 4);
    assert_int_equal(parse(SPCR_MIN_LEN), -1);
    assert_string_equal(err, "SPCR: unknown baud rate code 5");
}

/* A longer table (revision 4 adds the precise baud rate and a namespace string after the fixed part). */
static void test_revision_4_longer(void **state)
{
    u32 len = 88;
    build(SPCR_IF_16550_GAS, SPCR_SPACE_IO, 8, 0x2e8, 7, 0);
    t[8] = 4;
    memcpy(t + 4, &len, 4);
    fix_checksum(len);
    assert_int_equal(parse(len), 0);
    assert_int_equal(u.revision, 4);
    assert_int_equal(u.irq, 0);
    assert_int_equal(spcr_pick_io(&u, err, sizeof(err)), 0x2e8);
}

static void test_malformed(void **state)
{
    build(SPCR_IF_16550, SPCR_SPACE_IO, 8, 0x2f8, 7, 3);
    t[20] ^= 1; /* checksum now wrong */
    assert_int_equal(parse(SPCR_MIN_LEN), -1);
    assert_string_equal(err, "SPCR: bad checksum");

    build(SPCR_IF_16550, SPCR_SPACE_IO, 8, 0x2f8, 7, 3);
    assert_int_equal(parse(SPCR_MIN_LEN - 1), -1); /* length given and header disagree */
    assert_string_equal(err, "SPCR: malformed table header (79 bytes given, at least 80 needed)");

    u32 len = 60; /* a truncated table with a consistent header */
    build(SPCR_IF_16550, SPCR_SPACE_IO, 8, 0x2f8, 7, 3);
    memcpy(t + 4, &len, 4);
    fix_checksum(len);
    assert_int_equal(parse(len), -1);
    assert_string_equal(err, "SPCR: malformed table header (60 bytes given, at least 80 needed)");

    build(SPCR_IF_16550, SPCR_SPACE_IO, 8, 0x2f8, 7, 3);
    memcpy(t, "DBG2", 4);
    fix_checksum(SPCR_MIN_LEN);
    assert_int_equal(parse(SPCR_MIN_LEN), -1);
}

/* Tables Postern parses but cannot use: the reason names what the firmware described. */
static void test_not_usable(void **state)
{
    build(SPCR_IF_16550, SPCR_SPACE_MEMORY, 32, 0xfedc9000, 7, 0); /* AMD FCH's MMIO UART */
    assert_int_equal(parse(SPCR_MIN_LEN), 0);
    assert_int_equal(spcr_pick_io(&u, err, sizeof(err)), 0);
    assert_string_equal(err, "SPCR names an MMIO UART at 0xfedc9000 (32-bit registers), not an I/O port");

    build(0x03, SPCR_SPACE_MEMORY, 32, 0x9000000, 7, 0); /* Arm PL011 */
    assert_int_equal(parse(SPCR_MIN_LEN), 0);
    assert_int_equal(spcr_pick_io(&u, err, sizeof(err)), 0);
    assert_string_equal(err, "SPCR names interface type 0x3, not a 16550");

    build(SPCR_IF_16550, SPCR_SPACE_IO, 8, 0, 7, 0);
    assert_int_equal(parse(SPCR_MIN_LEN), 0);
    assert_int_equal(spcr_pick_io(&u, err, sizeof(err)), 0);
    assert_string_equal(err, "SPCR has no base address (console redirection disabled)");

    build(SPCR_IF_16550, SPCR_SPACE_IO, 8, 0xfff9, 7, 0);
    assert_int_equal(parse(SPCR_MIN_LEN), 0);
    assert_int_equal(spcr_pick_io(&u, err, sizeof(err)), 0);
    assert_string_equal(err, "SPCR names I/O port 0xfff9, beyond 0xfff8");

    build(SPCR_IF_16550, 2, 8, 0x2f8, 7, 0); /* PCI configuration space */
    assert_int_equal(parse(SPCR_MIN_LEN), 0);
    assert_int_equal(spcr_pick_io(&u, err, sizeof(err)), 0);
    assert_string_equal(err, "SPCR names a UART in address space 2, neither memory nor I/O");
}

/* A UART on a PCI card: SPCR says which function (so the loader can hide it from the guest). */
static void test_pci_uart(void **state)
{
    build(SPCR_IF_16550, SPCR_SPACE_IO, 8, 0xe000, 7, 0);
    assert_int_equal(parse(SPCR_MIN_LEN), 0);
    assert_false(u.pci); /* vendor 0xffff: not a PCI device */
    t[64] = 0x02;
    t[65] = 0x00;
    t[66] = 0x36;
    t[67] = 0x1b; /* 1b36:0002 */
    t[68] = 0x03;
    t[69] = 0x1f;
    t[70] = 0x07;
    t[75] = 0;
    fix_checksum(SPCR_MIN_LEN);
    assert_int_equal(parse(SPCR_MIN_LEN), 0);
    assert_true(u.pci);
    assert_int_equal(u.pci_bdf, 0x03ff);
    assert_int_equal(u.pci_segment, 0);
    assert_int_equal(spcr_pick_io(&u, err, sizeof(err)), 0xe000);
    t[66] = t[67] = 0; /* vendor 0: some firmware's "not PCI" */
    fix_checksum(SPCR_MIN_LEN);
    assert_int_equal(parse(SPCR_MIN_LEN), 0);
    assert_false(u.pci);
}

/* serial = auto with an MMIO UART: AMD FCH's (32-bit registers), a BMC's with byte registers, and
 * what cannot be driven. spcr_pick takes I/O ports as spcr_pick_io does. */
static void test_pick_mmio(void **state)
{
    u8 space = 0xff;
    u64 base = 0;

    build(SPCR_IF_16550, SPCR_SPACE_MEMORY, 32, 0xfedc9000, 7, 0);
    assert_int_equal(parse(SPCR_MIN_LEN), 0);
    assert_true(spcr_pick(&u, &space, &base, err, sizeof(err)));
    assert_int_equal(space, UART_MMIO32);
    assert_int_equal(base, 0xfedc9000ull);
    assert_int_equal(u.baud, 115200);

    build(SPCR_IF_16550_GAS, SPCR_SPACE_MEMORY, 8, 0x3fe001000ull, 6, 0);
    assert_int_equal(parse(SPCR_MIN_LEN), 0);
    assert_true(spcr_pick(&u, &space, &base, err, sizeof(err)));
    assert_int_equal(space, UART_MMIO8);
    assert_int_equal(base, 0x3fe001000ull);

    build(SPCR_IF_16550, SPCR_SPACE_IO, 8, 0x2f8, 7, 3);
    assert_int_equal(parse(SPCR_MIN_LEN), 0);
    assert_true(spcr_pick(&u, &space, &base, err, sizeof(err)));
    assert_int_equal(space, UART_IO);
    assert_int_equal(base, 0x2f8);

    build(SPCR_IF_16550, SPCR_SPACE_MEMORY, 16, 0xfedc9000, 7, 0);
    assert_int_equal(parse(SPCR_MIN_LEN), 0);
    assert_false(spcr_pick(&u, &space, &base, err, sizeof(err)));
    assert_string_equal(err, "SPCR names an MMIO UART at 0xfedc9000 with 16-bit registers: Postern drives 8- and "
                             "32-bit ones (aligned)");
    build(SPCR_IF_16550, SPCR_SPACE_MEMORY, 32, 0xfedc9002, 7, 0);
    assert_int_equal(parse(SPCR_MIN_LEN), 0);
    assert_false(spcr_pick(&u, &space, &base, err, sizeof(err)));
    build(0x03, SPCR_SPACE_MEMORY, 32, 0x9000000, 7, 0);
    assert_int_equal(parse(SPCR_MIN_LEN), 0);
    assert_false(spcr_pick(&u, &space, &base, err, sizeof(err)));
    assert_string_equal(err, "SPCR names interface type 0x3, not a 16550");
    build(SPCR_IF_16550, SPCR_SPACE_MEMORY, 32, 0, 7, 0);
    assert_int_equal(parse(SPCR_MIN_LEN), 0);
    assert_false(spcr_pick(&u, &space, &base, err, sizeof(err)));
    assert_string_equal(err, "SPCR has no base address (console redirection disabled)");
}

/* serial = pci BB:DD.F with a memory BAR 0 (32- and 64-bit). */
static void test_pci_bar_mmio(void **state)
{
    assert_int_equal(spcr_pci_bar_mmio(0xfebf1000, 0, err, sizeof(err)), 0xfebf1000ull);
    assert_int_equal(spcr_pci_bar_mmio(0xfebf100c, 0x38, err, sizeof(err)), 0x38febf1000ull); /* 64-bit, prefetchable */
    assert_int_equal(spcr_pci_bar_mmio(0xfebf1000, 0x38, err, sizeof(err)),
                     0xfebf1000ull); /* 32-bit: BAR 1 is another BAR */
    assert_int_equal(spcr_pci_bar_mmio(0xc001, 0, err, sizeof(err)), 0);
    assert_string_equal(err, "its BAR 0 is an I/O BAR");
    assert_int_equal(spcr_pci_bar_mmio(0x4, 0, err, sizeof(err)), 0);
    assert_string_equal(err, "its BAR 0 has no address assigned (0x4)");
}

/* serial = pci BB:DD.F: BAR 0 as the loader reads it. */
static void test_pci_bar_port(void **state)
{
    assert_int_equal(spcr_pci_bar_port(0xc001, err, sizeof(err)), 0xc000);
    assert_int_equal(spcr_pci_bar_port(0xfff9, err, sizeof(err)), 0xfff8);
    assert_int_equal(spcr_pci_bar_port(0xfebf1000, err, sizeof(err)), 0);
    assert_string_equal(err, "its BAR 0 is memory (0xfebf1000), not an I/O port");
    assert_int_equal(spcr_pci_bar_port(0x1, err, sizeof(err)), 0);
    assert_string_equal(err, "its BAR 0 has no I/O port assigned (0x1)");
    assert_int_equal(spcr_pci_bar_port(0x10001, err, sizeof(err)), 0);
    assert_string_equal(err, "its BAR 0 has no I/O port assigned (0x10001)");
}

/* The table the serial-spcr integration case hands QEMU: the generator and the parser agree. */
static void test_generator(void **state)
{
    FILE *p = popen("python3 tests/integration/mkspcr.py - --io 0x2f8 --baud 57600", "r");
    size_t n;

    assert_non_null(p);
    memset(t, 0, sizeof(t));
    n = fread(t, 1, sizeof(t), p);
    assert_int_equal(pclose(p), 0);
    assert_int_equal(n, SPCR_MIN_LEN);
    assert_int_equal(parse((u32)n), 0);
    assert_int_equal(u.baud, 57600);
    assert_int_equal(u.irq, 3);
    assert_int_equal(spcr_pick_io(&u, err, sizeof(err)), 0x2f8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_com2_at_115200),    cmocka_unit_test(test_baud_codes),
        cmocka_unit_test(test_revision_4_longer), cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_not_usable),        cmocka_unit_test(test_pci_uart),
        cmocka_unit_test(test_pci_bar_port),      cmocka_unit_test(test_pick_mmio),
        cmocka_unit_test(test_pci_bar_mmio),      cmocka_unit_test(test_generator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
