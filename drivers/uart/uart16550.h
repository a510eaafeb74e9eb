/*
 * The hypervisor's own 16550 UART (docs/console.md "Which UART", "Transmitting"): at an I/O port,
 * or memory-mapped with byte registers (mmio8) or 32-bit registers 4 bytes apart (mmio32, as AMD's
 * FCH UART and many BMCs' virtual UARTs). Output goes through a ring and the UART's 16-byte
 * transmit FIFO: uart_putc never waits for the line unless the ring is full, and uart_tx_poll
 * (each console poll, the host tick) moves what the FIFO has room for. The hypervisor never takes
 * the UART's interrupt itself (uart_rx_interrupt: hv/console/console.c lets a received byte wake
 * the guest's COM1 handler).
 */
#ifndef POSTERN_UART16550_H
#define POSTERN_UART16550_H

#include "lib/types.h"

enum uart_space {
    UART_IO = 0,     /* base is an I/O port */
    UART_MMIO8 = 1,  /* base is a physical address, registers 1 byte apart, byte accesses */
    UART_MMIO32 = 2, /* base is a physical address, registers 4 bytes apart, 32-bit accesses */
};

#define UART_TX_RING 8192 /* bytes of output waiting for the FIFO */

/* False (and every later write skipped) when nothing answers at the address (the scratch
 * register does not keep what is written). Output still in the ring from a previous init is sent
 * first. */
bool uart_init_at(enum uart_space space, u64 base, u32 baud);
static inline bool uart_init(u16 port, u32 baud) { return uart_init_at(UART_IO, port, baud); }
void uart_putc(char c);
void uart_write(const char *s, size_t n); /* "\n" goes out as "\r\n" */
/* Move waiting output into the transmit FIFO as far as it has room; never waits. */
void uart_tx_poll(void);
/* Wait (bounded) until all output has left the UART: before a halt, a reset, a re-init. */
void uart_flush(void);
/* Bytes of output waiting in the ring. */
u32 uart_tx_pending(void);
/* A received byte, or -1 when none is waiting. */
int uart_getc(void);
/* A received byte is waiting (LSR.DR). */
bool uart_rx_ready(void);
/* Raise the UART's interrupt line (through MCR.OUT2, as PCs wire it) while a byte waits. */
void uart_rx_interrupt(bool on);

#endif
