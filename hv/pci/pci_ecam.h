/*
 * The guest's ECAM (PCI Express memory-mapped configuration, PCIe Base spec 7.2.2): the guest's
 * ACPI copy keeps the firmware's MCFG, the windows it names are never mapped in the nested page
 * tables, and each access faults and is decoded here into (bus, device, function, offset), then
 * goes through the same dispatch as port 0xCF8/0xCFC (pci_guest_cfg_*). So the guest reaches
 * offsets 256-4095, and hidden, virtualized and read-only functions look the same both ways.
 * Pure: unit-tested.
 */
#ifndef POSTERN_PCI_ECAM_H
#define POSTERN_PCI_ECAM_H

#include "drivers/pci/pci.h"

/* One MCFG entry's window: buses [bus_start, bus_end] of segment; base is bus_start's address. */
struct pci_ecam_window {
    u64 base;
    u16 segment;
    u8 bus_start, bus_end;
};

static inline u64 pci_ecam_window_size(const struct pci_ecam_window *w)
{
    return ((u64)(w->bus_end - w->bus_start) + 1) << 20;
}

/* Which window holds gpa: its index, or -1. For a hit, *bdf and *off name the register (the bus
 * is the window's, so bdf is only meaningful with that window's segment). */
int pci_ecam_decode(const struct pci_ecam_window *w, int n, u64 gpa, u16 *bdf, u16 *off);

#endif
