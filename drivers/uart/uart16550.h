/* Polled 16550 UART: the hypervisor's console. No interrupts: the hypervisor never takes one. */
#ifndef POSTERN_UART16550_H
#define POSTERN_UART16550_H

#include "types.h"

/* False (and every later write skipped) when nothing answers at port. */
bool uart_init(u16 port, u32 baud);
void uart_putc(char c);
void uart_write(const char *s, size_t n);

#endif
