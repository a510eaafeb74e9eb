/* Port I/O for the loader's own UART output (boot/console.c). The hypervisor has its own driver
 * (drivers/uart/); the loader must not depend on it. */
#ifndef POSTERN_BOOT_PORTIO_H
#define POSTERN_BOOT_PORTIO_H

#include "hv/types.h"

static inline void boot_outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }

static inline u8 boot_inb(u16 port)
{
    u8 v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

#endif
