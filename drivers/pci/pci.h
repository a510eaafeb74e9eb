/*
 * PCI for the hypervisor: host configuration-space access (ECAM from the host's MCFG, or ports
 * 0xCF8/0xCFC), enumeration, and device matching from the config file. Everything that is logic
 * works on a struct pci_cfg_access so the unit tests can hand it a fake configuration space.
 */
#ifndef POSTERN_PCI_H
#define POSTERN_PCI_H

#include "lib/types.h"

#define PCI_BDF(bus, dev, fn) ((u16)(((bus) << 8) | ((dev) << 3) | (fn)))
#define PCI_BUS(bdf)          ((u8)((bdf) >> 8))
#define PCI_DEV(bdf)          ((u8)(((bdf) >> 3) & 0x1f))
#define PCI_FN(bdf)           ((u8)((bdf)&7))

/* Standard header offsets used outside drivers/pci. */
#define PCI_VENDOR_ID  0x00
#define PCI_COMMAND    0x04
#define PCI_CMD_IO     BIT(0)
#define PCI_CMD_MEM    BIT(1)
#define PCI_CMD_MASTER BIT(2)
#define PCI_BAR0       0x10
#define PCI_NUM_BARS   6

/* The rest of the type 0/1 header, for drivers/pci itself (PCI Local Bus 3.0, 6.1; bridge 3.2). */
#define PCI_DEVICE_ID      0x02
#define PCI_STATUS         0x06
#define PCI_CLASS_REV      0x08
#define PCI_HEADER_TYPE    0x0e
#define PCI_HEADER_MULTIFN 0x80
#define PCI_HEADER_NORMAL  0x00
#define PCI_HEADER_BRIDGE  0x01
#define PCI_SECONDARY_BUS  0x19 /* type 1 */
#define PCI_ROM_BAR        0x30 /* type 0; a bridge's is at 0x38 */
#define PCI_BRIDGE_ROM_BAR 0x38
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN  0x3d
#define PCI_CMD_PARITY     BIT(6)
#define PCI_CMD_SERR       BIT(8)
#define PCI_CMD_INTX_OFF   BIT(10)
#define PCI_BAR_IO_BIT     BIT(0) /* low bits of a BAR register */
#define PCI_BAR_MEM_TYPE64 0x4
#define PCI_BAR_PREFETCH   0x8
#define PCI_CFG_SIZE       256  /* what conf1 reaches */
#define PCI_ECAM_CFG_SIZE  4096 /* what ECAM reaches (PCIe extended configuration space) */

struct pci_cfg_access {
    u32 (*read)(void *ctx, u16 bdf, u16 off, u8 size); /* size 1, 2 or 4; naturally aligned */
    void (*write)(void *ctx, u16 bdf, u16 off, u8 size, u32 value);
    void *ctx;
};

/* The host's configuration space: ECAM when pci_host_init got a window, else ports 0xCF8/0xCFC.
 * ecam_base is where bus bus_start's configuration space begins (the start of the window, as
 * struct acpi_ecam_window.base records it; the MCFG entry's own base address is that of bus 0),
 * or 0 for ports only. With ECAM, buses outside [bus_start, bus_end] still go through the ports.
 * Offsets >= 256 need ECAM: through the ports they read all ones and writes are dropped.
 * Not reentrant: the hypervisor runs on one CPU and does not take configuration accesses from
 * interrupt context. */
void pci_host_init(hpa_t ecam_base, u8 bus_start, u8 bus_end);
/* One more segment-0 window (MCFG may split a segment's buses over entries); false when full. */
#define PCI_HOST_MAX_WINDOWS 8
bool pci_host_add_window(hpa_t ecam_base, u8 bus_start, u8 bus_end);
extern const struct pci_cfg_access pci_host;

enum pci_bar_kind { PCI_BAR_NONE, PCI_BAR_MEM32, PCI_BAR_MEM64, PCI_BAR_IO };

struct pci_bar {
    u64 base; /* as the firmware assigned it */
    u64 size; /* power of two; 0 when the BAR is unimplemented */
    enum pci_bar_kind kind;
    bool prefetchable;
};

struct pci_dev {
    u16 bdf;
    u16 vendor, device;
    u32 class_rev;  /* class << 8 | revision */
    u8 header_type; /* without the multi-function bit */
    u8 irq_pin, irq_line;
    u8 secondary_bus;                 /* bridges (header type 1) */
    bool bars_unsized;                /* a host bridge or bridge: BARs left alone (pci_enum.c) */
    struct pci_bar bar[PCI_NUM_BARS]; /* the upper half of a 64-bit BAR has kind NONE */
};

#define PCI_CLASS_HOST_BRIDGE 0x0600 /* class_rev >> 16 */

/* Scan every root bus of the segment (bus 0, then each bus number no bridge led to) and every bus
 * behind a bridge (header type 1) for functions; size the BARs of ordinary functions (decoding
 * off while sizing, then restored; host bridges and bridges are not sized). Returns the count (at
 * most max). With out NULL, only counts every function there is and writes nothing: the caller
 * sizes its array from that. */
int pci_enumerate(const struct pci_cfg_access *cfg, struct pci_dev *out, int max);
/* The root buses among d[0..n): buses with functions that no bridge names as its secondary.
 * roots has room for 256; returns the count, ascending. */
int pci_root_buses(const struct pci_dev *d, int n, u8 *roots);

/* A device named in the config: "BB:DD.F" (hex) or "VVVV:DDDD" (vendor:device, hex). */
struct pci_match {
    bool by_bdf;
    u16 bdf;
    u16 vendor, device;
};
/* Returns true and fills m when text is one of the two forms, exactly. */
bool pci_match_parse(const char *text, struct pci_match *m);
bool pci_match_dev(const struct pci_match *m, const struct pci_dev *d);
/* "00:03.0" into buf (at least 8 bytes). */
void pci_bdf_str(u16 bdf, char *buf);

#endif
