/*
 * The loader's messages: one line each, "postern: " first, on the UEFI console and on the serial
 * line. The serial copy is written to the 16550 directly unless the firmware already mirrors ConOut
 * to a UART (the ConOut variable's device path has a Uart() node: OVMF does this), so a message
 * appears exactly once on the serial log either way.
 */
#ifndef POSTERN_BOOT_CONSOLE_H
#define POSTERN_BOOT_CONSOLE_H

#include <efi.h>
#include <efilib.h>
#include "lib/types.h"

/* After InitializeLib: decide whether ConOut already reaches a serial line. */
void console_init(void);

/* The UART for the direct copy (until called: 0x3f8 at 115200). Takes effect at the next message. */
void console_set_serial(u16 port, u32 baud);
/* The same for a UART anywhere (space: enum uart_space; base: a port or a physical address). */
void console_set_serial_at(u8 space, u64 base, u32 baud);

/* GNU-EFI Print format (%a = ASCII string, %r = EFI_STATUS name, %ld/%lx = 64-bit). Before
 * ExitBootServices only. */
void say(const CHAR16 *fmt, ...);

/* After ExitBootServices (no ConOut any more): ASCII straight to the UART, mirrored or not. */
void say_serial_only(const char *msg);

/* True when the firmware mirrors ConOut to a UART (for the boot summary). */
bool console_mirrored(void);

#endif
