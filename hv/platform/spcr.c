/* SPCR: see spcr.h. Offsets from the SPCR specification (revision 4), all in the fixed 80 bytes. */
#include "platform/spcr.h"
#include "platform/acpi_host.h"
#include "lib/bytes.h"
#include "lib/lib.h"
#include "lib/log.h"

#define SPCR_OFF_IFTYPE     36
#define SPCR_OFF_BASE       40 /* Generic Address Structure, 12 bytes */
#define SPCR_OFF_IRQTYPE    52
#define SPCR_OFF_IRQ        53
#define SPCR_OFF_BAUD       58
#define SPCR_OFF_PCI_VENDOR 66 /* 0xffff: not a PCI device */
#define SPCR_OFF_PCI_BUS    68 /* then device, function */
#define SPCR_OFF_PCI_SEG    75
#define SPCR_IRQTYPE_PIC    0x01 /* bit 0: a dual-8259 IRQ */

int spcr_parse(const u8 *t, u32 len, struct spcr_uart *out, char *err, size_t errsz)
{
    memset(out, 0, sizeof(*out));
    if (acpi_table_check(t, len, "SPCR", SPCR_MIN_LEN, err, errsz) != 0)
        return -1;
    out->revision = t[8];
    out->interface_type = t[SPCR_OFF_IFTYPE];
    out->space = t[SPCR_OFF_BASE];
    out->bit_width = t[SPCR_OFF_BASE + 1];
    out->base = rd64(t, SPCR_OFF_BASE + 4);
    if (t[SPCR_OFF_IRQTYPE] & SPCR_IRQTYPE_PIC)
        out->irq = t[SPCR_OFF_IRQ];
    u16 vendor = rd16(t, SPCR_OFF_PCI_VENDOR);
    if (vendor != 0xffff && vendor != 0) {
        out->pci = true;
        out->pci_segment = t[SPCR_OFF_PCI_SEG];
        out->pci_bdf =
            (u16)(t[SPCR_OFF_PCI_BUS] << 8 | (t[SPCR_OFF_PCI_BUS + 1] & 0x1f) << 3 | (t[SPCR_OFF_PCI_BUS + 2] & 7));
    }
    switch (t[SPCR_OFF_BAUD]) {
    case 0:
        out->baud = 0;
        break; /* "as is" */
    case 3:
        out->baud = 9600;
        break;
    case 4:
        out->baud = 19200;
        break;
    case 6:
        out->baud = 57600;
        break;
    case 7:
        out->baud = 115200;
        break;
    default:
        fmt_snprintf(err, errsz, "SPCR: unknown baud rate code %u", t[SPCR_OFF_BAUD]);
        return -1;
    }
    return 0;
}

u16 spcr_pci_bar_port(u32 bar0, char *why, size_t whysz)
{
    u32 port = bar0 & ~3u;

    if (!(bar0 & 1)) {
        fmt_snprintf(why, whysz, "its BAR 0 is memory (0x%x), not an I/O port", bar0 & ~0xfu);
        return 0;
    }
    if (port == 0 || port > 0xfff8) {
        fmt_snprintf(why, whysz, "its BAR 0 has no I/O port assigned (0x%x)", bar0);
        return 0;
    }
    return (u16)port;
}

u16 spcr_pick_io(const struct spcr_uart *u, char *why, size_t whysz)
{
    if (u->interface_type != SPCR_IF_16550 && u->interface_type != SPCR_IF_16450 &&
        u->interface_type != SPCR_IF_16550_GAS) {
        fmt_snprintf(why, whysz, "SPCR names interface type 0x%x, not a 16550", u->interface_type);
        return 0;
    }
    if (u->base == 0) {
        fmt_snprintf(why, whysz, "SPCR has no base address (console redirection disabled)");
        return 0;
    }
    if (u->space == SPCR_SPACE_MEMORY) {
        fmt_snprintf(why, whysz, "SPCR names an MMIO UART at 0x%llx (%u-bit registers), not an I/O port",
                     (unsigned long long)u->base, u->bit_width);
        return 0;
    }
    if (u->space != SPCR_SPACE_IO) {
        fmt_snprintf(why, whysz, "SPCR names a UART in address space %u, neither memory nor I/O", u->space);
        return 0;
    }
    if (u->base > 0xfff8) {
        fmt_snprintf(why, whysz, "SPCR names I/O port 0x%llx, beyond 0xfff8", (unsigned long long)u->base);
        return 0;
    }
    return (u16)u->base;
}

bool spcr_pick(const struct spcr_uart *u, u8 *space, u64 *base, char *why, size_t whysz)
{
    if (u->space != SPCR_SPACE_MEMORY) {
        u16 port = spcr_pick_io(u, why, whysz);
        *space = UART_IO;
        *base = port;
        return port != 0;
    }
    if (u->interface_type != SPCR_IF_16550 && u->interface_type != SPCR_IF_16450 &&
        u->interface_type != SPCR_IF_16550_GAS) {
        fmt_snprintf(why, whysz, "SPCR names interface type 0x%x, not a 16550", u->interface_type);
        return false;
    }
    if (u->base == 0) {
        fmt_snprintf(why, whysz, "SPCR has no base address (console redirection disabled)");
        return false;
    }
    /* The GAS's register width: 8 (or 0, unspecified, in older tables) byte registers one byte
     * apart; 32 registers four bytes apart, read and written 32 bits wide. */
    if (u->bit_width == 32 && !(u->base & 3)) {
        *space = UART_MMIO32;
    } else if (u->bit_width == 8 || u->bit_width == 0) {
        *space = UART_MMIO8;
    } else {
        fmt_snprintf(why, whysz,
                     "SPCR names an MMIO UART at 0x%llx with %u-bit registers: Postern drives 8- and "
                     "32-bit ones (aligned)",
                     (unsigned long long)u->base, u->bit_width);
        return false;
    }
    *base = u->base;
    return true;
}

u64 spcr_pci_bar_mmio(u32 bar0, u32 bar1, char *why, size_t whysz)
{
    u64 addr = bar0 & ~0xfull;

    if (bar0 & 1) {
        fmt_snprintf(why, whysz, "its BAR 0 is an I/O BAR");
        return 0;
    }
    if (((bar0 >> 1) & 3) == 2) /* 64-bit BAR: BAR 1 holds the high half */
        addr |= (u64)bar1 << 32;
    if (addr == 0) {
        fmt_snprintf(why, whysz, "its BAR 0 has no address assigned (0x%x)", bar0);
        return 0;
    }
    return addr;
}
