/*
 * ACPI's Serial Port Console Redirection table (SPCR, Microsoft's "Serial Port Console Redirection
 * Table" specification, revisions 1 to 4): the UART the firmware redirects its console to, which on a
 * server is the one the BMC's serial-over-LAN carries. `serial = auto` (docs/boot.md) takes its port
 * (or memory-mapped address) and speed from here.
 *
 * Pure: spcr_parse() is handed the table's bytes (the loader finds them with acpi_host_find; the
 * unit tests build them). Postern drives 16550-compatible UARTs in I/O space and in memory (8- or
 * 32-bit registers): spcr_pick() takes either, spcr_pick_io() only a port, and both say why a table
 * cannot be used. spcr_pci_bar_port() and spcr_pci_bar_mmio() are the same decision for `serial =
 * pci BB:DD.F`, from the function's BAR 0.
 */
#ifndef POSTERN_SPCR_H
#define POSTERN_SPCR_H

#include "lib/types.h"
#include "drivers/uart/uart16550.h"

#define SPCR_MIN_LEN 80 /* the fixed part, the same length in revisions 1 to 4 */

/* Generic Address Structure address spaces (ACPI 6.5 table 5.1). */
#define SPCR_SPACE_MEMORY 0
#define SPCR_SPACE_IO     1

/* Interface types SPCR shares with DBG2's serial subtypes; the three 16550 kinds Postern knows. */
#define SPCR_IF_16550     0x00 /* full 16550 */
#define SPCR_IF_16450     0x01 /* 16550 subset (16450) */
#define SPCR_IF_16550_GAS 0x12 /* 16550-compatible, parameters from the base address GAS */

struct spcr_uart {
    u8 revision;
    u8 interface_type;
    u8 space;     /* SPCR_SPACE_*: the base address's space */
    u8 bit_width; /* the GAS's register bit width (8 for byte registers, 32 for mmio32) */
    u64 base;     /* 0: the console redirection is disabled */
    u32 baud;     /* 0: "as is", the firmware's speed, which the table does not say */
    u8 irq;       /* the PC-AT IRQ, when the interrupt type says it has one */
    bool pci;     /* the UART is a PCI function (its vendor ID is not 0xffff or 0) */
    u8 pci_segment;
    u16 pci_bdf;
};

/* Parse a SPCR table of len bytes. Returns 0, or -1 with the reason in err. */
int spcr_parse(const u8 *t, u32 len, struct spcr_uart *out, char *err, size_t errsz);

/* The I/O port a PCI UART's BAR 0 register value decodes (serial = pci BB:DD.F), or 0 with the reason
 * in why (a memory BAR, an unassigned one). */
u16 spcr_pci_bar_port(u32 bar0, char *why, size_t whysz);

/* The I/O port of a parsed table for Postern's 16550 driver, or 0 with the reason in why (MMIO,
 * another interface type, no address, a port out of range). */
u16 spcr_pick_io(const struct spcr_uart *u, char *why, size_t whysz);

/* The UART of a parsed table for Postern's 16550 driver: *space (enum uart_space) and *base, or
 * false with the reason in why. A memory-mapped UART with 32-bit registers (the GAS's register
 * width 32, 4-byte aligned) is UART_MMIO32; with 8-bit (or unspecified) ones UART_MMIO8. */
bool spcr_pick(const struct spcr_uart *u, u8 *space, u64 *base, char *why, size_t whysz);

/* The address a PCI UART's memory BAR 0 decodes (bar1: the high half of a 64-bit BAR), or 0 with the
 * reason in why (an I/O BAR, an unassigned one). */
u64 spcr_pci_bar_mmio(u32 bar0, u32 bar1, char *why, size_t whysz);

#endif
