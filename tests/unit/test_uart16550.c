/* UNIT-SOURCES: drivers/uart/uart16550.c */
/* The 16550 driver on a memory-mapped register block in host memory (mmio8 and mmio32): register
 * strides and widths, the scratch-register probe, the transmit ring in front of the FIFO (bytes wait
 * while LSR says the FIFO is busy, leave when it says THRE), and the bounded flush when the
 * transmitter never empties. Plain memory reads back what was written, so FCR's write shows in IIR
 * (0x07: no FIFO bits) and the driver takes the part for a 16450: one byte per THRE. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "drivers/uart/uart16550.h"

#define LSR_THRE_TEMT 0x60

static u8 regs8[8];
static u32 regs32[8];

static void mmio8_stride_and_probe(void **state)
{
    (void)state;
    memset(regs8, 0, sizeof(regs8));
    assert_true(uart_init_at(UART_MMIO8, (u64)(uintptr_t)regs8, 115200));
    assert_int_equal(regs8[7], 0x5a); /* scratch */
    assert_int_equal(regs8[3], 0x03); /* LCR 8N1 after the divisor */
    assert_int_equal(regs8[0], 1);    /* DLL: 115200 / 115200 */
    assert_int_equal(regs8[4], 0x03); /* MCR: DTR, RTS */
    regs8[5] = LSR_THRE_TEMT;
    uart_putc('A');
    assert_int_equal(regs8[0], 'A');
    assert_int_equal(uart_tx_pending(), 0);
    regs8[5] = 0x01 | LSR_THRE_TEMT; /* DR */
    regs8[0] = 'z';
    assert_int_equal(uart_getc(), 'z');
    assert_true(uart_rx_ready());
    regs8[5] = LSR_THRE_TEMT;
    assert_int_equal(uart_getc(), -1);
}

static void mmio32_registers_four_bytes_apart(void **state)
{
    (void)state;
    memset(regs32, 0, sizeof(regs32));
    assert_true(uart_init_at(UART_MMIO32, (u64)(uintptr_t)regs32, 9600));
    assert_int_equal(regs32[7], 0x5a);
    assert_int_equal(regs32[0], 12); /* DLL: 115200 / 9600 */
    assert_int_equal(regs32[1], 0);  /* IER (after DLM 0) */
    assert_int_equal(regs32[3], 0x03);
    regs32[5] = LSR_THRE_TEMT;
    uart_write("x\n", 2);
    assert_int_equal(regs32[0], '\n'); /* "\n" goes out as "\r\n": the last byte written */
    uart_rx_interrupt(true);
    assert_int_equal(regs32[1], 0x01);
    assert_int_equal(regs32[4], 0x0b);
}

/* Output never waits for the line: while LSR says busy, bytes wait in the ring. */
static void ring_holds_output_while_busy(void **state)
{
    (void)state;
    memset(regs8, 0, sizeof(regs8));
    assert_true(uart_init_at(UART_MMIO8, (u64)(uintptr_t)regs8, 115200));
    regs8[5] = 0; /* transmitter busy */
    for (int i = 0; i < 100; i++)
        uart_putc((char)('a' + i % 26));
    assert_int_equal(uart_tx_pending(), 100);
    regs8[5] = LSR_THRE_TEMT;
    uart_tx_poll(); /* plain memory keeps saying THRE: everything goes, in order */
    assert_int_equal(uart_tx_pending(), 0);
    assert_int_equal(regs8[0], 'a' + 99 % 26);
}

/* A transmitter that never empties costs a bounded wait, then the oldest bytes are given up. */
static void flush_is_bounded(void **state)
{
    (void)state;
    memset(regs8, 0, sizeof(regs8));
    assert_true(uart_init_at(UART_MMIO8, (u64)(uintptr_t)regs8, 115200));
    regs8[5] = 0;
    for (int i = 0; i < UART_TX_RING + 10; i++) /* the ring fills: putc drains to half, gives up */
        uart_putc('q');
    assert_true(uart_tx_pending() <= UART_TX_RING);
    uart_flush();
    assert_int_equal(uart_tx_pending(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mmio8_stride_and_probe),
        cmocka_unit_test(mmio32_registers_four_bytes_apart),
        cmocka_unit_test(ring_holds_output_while_busy),
        cmocka_unit_test(flush_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
