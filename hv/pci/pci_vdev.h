/*
 * Configuration-space virtualization for a passed-through device (the guarded NIC). The guest
 * sees the real device's identity and capabilities, but its BARs are virtual registers: the guest
 * may size and move them, and the physical BARs never change (the hypervisor maps the guest's
 * chosen address to the real one in the nested page tables, through the bar_moved callback).
 * The expansion ROM reads as absent. Command register writes reach the device except bits that
 * are the hypervisor's (see pci_vdev.c). Everything else is passed through to the device.
 */
#ifndef POSTERN_PCI_VDEV_H
#define POSTERN_PCI_VDEV_H

#include "drivers/pci/pci.h"

struct pci_vdev;
/* A BAR's guest-visible mapping changed: mapped is false when decoding is off or the address is
 * unusable; gpa is where the guest wants it (for I/O BARs a port number). */
typedef void (*pci_bar_moved_fn)(struct pci_vdev *d, int bar, bool mapped, u64 gpa, void *ctx);

struct pci_vdev {
    const struct pci_dev *host;
    const struct pci_cfg_access *cfg;
    u64 bar_gpa[PCI_NUM_BARS]; /* the guest's address for each BAR (its register value, decoded);
                                  * a 64-bit BAR's is at its lower index, the upper one stays 0 */
    bool bar_mapped[PCI_NUM_BARS];
    u64 bar_map_gpa[PCI_NUM_BARS]; /* where the last bar_moved(mapped = true) put it */
    u8 bar_sizing;                 /* bit r: BAR register r was last written with all its address
                                  * bits set (a sizing write; its BAR maps nothing until restored) */
    u16 command;                   /* as the guest last wrote it */
    u64 ext_writes_dropped;        /* writes to offsets 256-4095 (pci_vdev.c) */
    pci_bar_moved_fn bar_moved;
    void *ctx;
};

/* Start with the guest seeing the firmware's assignments (bar_gpa = host base) and the device's
 * command register. Before this returns, bar_moved is called once for every implemented BAR, in
 * order, with its initial state (mapped when its decoding is on and its address usable), so the
 * caller's mappings start out agreeing with the vdev whatever it had set up. bar_moved may be NULL. */
void pci_vdev_init(struct pci_vdev *d, const struct pci_dev *host, const struct pci_cfg_access *cfg,
                   pci_bar_moved_fn bar_moved, void *ctx);
/* Guest configuration read/write of size 1, 2 or 4 at off (< 4096, naturally aligned); offsets
 * 256 and up read the device's extended space and drop writes. */
u32 pci_vdev_read(struct pci_vdev *d, u16 off, u8 size);
void pci_vdev_write(struct pci_vdev *d, u16 off, u8 size, u32 value);

#endif
