/* Polled 16550 UART: the hypervisor's console. The hypervisor never takes its interrupt itself
 * (uart_rx_interrupt: hv/console/console.c lets a received byte wake the guest's COM1 handler). */
#ifndef POSTERN_UART16550_H
#define POSTERN_UART16550_H

#include "lib/types.h"

/* False (and every later write skipped) when nothing answers at port. */
bool uart_init(u16 port, u32 baud);
void uart_putc(char c);
void uart_write(const char *s, size_t n); /* "\n" goes out as "\r\n" */
/* A received byte, or -1 when none is waiting. */
int uart_getc(void);
/* A received byte is waiting (LSR.DR). */
bool uart_rx_ready(void);
/* Raise the UART's interrupt line (through MCR.OUT2, as PCs wire it) while a byte waits. */
void uart_rx_interrupt(bool on);

#endif
