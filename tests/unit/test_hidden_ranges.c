/* UNIT-SOURCES: hv/console/hidden_ranges.c */
/* console_hidden_ranges: the physical pages a memory-mapped UART of Postern's occupies, which the
 * nested-table builder leaves out of the guest's map; none for an I/O-port UART; the framebuffer's
 * pages when the log is drawn there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "console/console.h"

static struct boot_info bi;
static struct phys_range r[CONSOLE_HIDDEN_MAX];

static void io_port_uart_hides_no_memory(void **state)
{
    (void)state;
    memset(&bi, 0, sizeof(bi));
    bi.serial_space = UART_IO;
    bi.serial_port = 0x2f8;
    assert_int_equal(console_hidden_ranges(&bi, r, CONSOLE_HIDDEN_MAX), 0);
}

static void mmio32_uart_hides_its_page(void **state)
{
    (void)state;
    memset(&bi, 0, sizeof(bi));
    bi.serial_space = UART_MMIO32;
    bi.serial_mmio = 0xfedc9000;
    assert_int_equal(console_hidden_ranges(&bi, r, CONSOLE_HIDDEN_MAX), 1);
    assert_int_equal(r[0].base, 0xfedc9000ull);
    assert_int_equal(r[0].size, 0x1000);
    bi.serial_mmio = 0xfedc9fe0; /* 8 registers 4 bytes apart end at 0xfedc9fff: one page */
    assert_int_equal(console_hidden_ranges(&bi, r, CONSOLE_HIDDEN_MAX), 1);
    assert_int_equal(r[0].base, 0xfedc9000ull);
    assert_int_equal(r[0].size, 0x1000);
    bi.serial_mmio = 0xfedc9fe4; /* the last register on the next page: both */
    assert_int_equal(console_hidden_ranges(&bi, r, CONSOLE_HIDDEN_MAX), 1);
    assert_int_equal(r[0].base, 0xfedc9000ull);
    assert_int_equal(r[0].size, 0x2000);
}

static void mmio8_uart_across_a_page_boundary(void **state)
{
    (void)state;
    memset(&bi, 0, sizeof(bi));
    bi.serial_space = UART_MMIO8;
    bi.serial_mmio = 0x3fe001ffcull;
    assert_int_equal(console_hidden_ranges(&bi, r, CONSOLE_HIDDEN_MAX), 1);
    assert_int_equal(r[0].base, 0x3fe001000ull);
    assert_int_equal(r[0].size, 0x2000);
    assert_int_equal(console_hidden_ranges(&bi, r, 0), 0); /* no room: nothing written */
}

static void framebuffer_hidden_only_when_the_log_is_there(void **state)
{
    (void)state;
    memset(&bi, 0, sizeof(bi));
    bi.serial_space = UART_IO;
    bi.fb.base = 0xc0000000;
    bi.fb.size = 4000 * 1024;                                               /* 1280x800x4: not a page multiple */
    assert_int_equal(console_hidden_ranges(&bi, r, CONSOLE_HIDDEN_MAX), 0); /* a UART answered: the guest's */
    bi.fb_log = true;
    assert_int_equal(console_hidden_ranges(&bi, r, CONSOLE_HIDDEN_MAX), 1);
    assert_int_equal(r[0].base, 0xc0000000ull);
    assert_int_equal(r[0].size, 0x3e8000);
    bi.fb.base = 0xc0000800; /* not page aligned: both ends rounded out */
    bi.fb.size = 0x1000;
    assert_int_equal(console_hidden_ranges(&bi, r, CONSOLE_HIDDEN_MAX), 1);
    assert_int_equal(r[0].base, 0xc0000000ull);
    assert_int_equal(r[0].size, 0x2000);
    bi.serial_space = UART_MMIO32; /* an MMIO UART that did not answer, and the framebuffer */
    bi.serial_mmio = 0xfedc9000;
    assert_int_equal(console_hidden_ranges(&bi, r, CONSOLE_HIDDEN_MAX), 2);
    assert_int_equal(r[0].base, 0xfedc9000ull);
    assert_int_equal(r[1].base, 0xc0000000ull);
    assert_int_equal(console_hidden_ranges(&bi, r, 1), 1); /* room for one: the UART's */
    assert_int_equal(r[0].base, 0xfedc9000ull);
    bi.fb.base = 0; /* no framebuffer */
    assert_int_equal(console_hidden_ranges(&bi, r, CONSOLE_HIDDEN_MAX), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(io_port_uart_hides_no_memory),
        cmocka_unit_test(mmio32_uart_hides_its_page),
        cmocka_unit_test(mmio8_uart_across_a_page_boundary),
        cmocka_unit_test(framebuffer_hidden_only_when_the_log_is_there),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
