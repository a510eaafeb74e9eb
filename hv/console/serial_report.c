/* See serial_report.h. */
#include "console/serial_report.h"
#include "drivers/pci/pci.h"
#include "lib/platform_report.h"

static void serial_fill(struct report_sink *s, const void *ctx)
{
    const struct boot_info *bi = ctx;
    const char *how;
    char bdf[8] = "";

    switch (bi->serial_source) {
    case BOOT_SERIAL_SPCR:
        how = "serial = auto: ACPI's SPCR table";
        break;
    case BOOT_SERIAL_SPCR_NONE:
        how = "serial = auto, no usable SPCR: COM1";
        break;
    case BOOT_SERIAL_PCI:
        how = "serial = pci";
        break;
    case BOOT_SERIAL_PCI_NONE:
        how = "serial = pci, not usable: COM1";
        break;
    default:
        how = "postern.cfg (serial = io:PORT, serial_port, or the default COM1)";
        break;
    }
    if (bi->serial_pci)
        pci_bdf_str(bi->serial_pci_bdf, bdf);
    report_line(s, "16550 at I/O port 0x%x, %u baud%s%s, chosen by %s%s%s", bi->serial_port, bi->serial_baud,
                bi->serial_pci ? ", PCI function " : "", bdf, how, bi->serial_note[0] ? ": " : "", bi->serial_note);
    report_line(s, "the port is hidden from the guest; the guest's console is an emulated COM1");
}

void serial_report_register(const struct boot_info *bi) { platform_report_add(REPORT_SERIAL, serial_fill, bi); }
