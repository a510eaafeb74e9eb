/*
 * The guest's PCI configuration mechanism #1 (ports 0xCF8 CONFIG_ADDRESS, 0xCFC-0xCFF
 * CONFIG_DATA), emulated, and the one dispatch every guest configuration access goes through
 * (pci_guest_cfg_*: conf1 here, ECAM in pci_ecam.c): by the policy, passed through to the host,
 * emulated by a pci_vdev, hidden (reads all ones, writes dropped) or read-only (writes refused
 * and reported through refused()).
 */
#ifndef POSTERN_PCI_CONF1_H
#define POSTERN_PCI_CONF1_H

#include "drivers/pci/pci.h"
#include "pci/pci_vdev.h"

#define PCI_CONF1_ADDRESS 0xcf8
#define PCI_CONF1_DATA    0xcfc

/* PCI_READONLY: reads pass through, writes are refused (a host bridge or chipset function whose
 * registers reach the IOMMU or the management processors; pci_chipset.h).
 * PCI_BRIDGE: a passed-through PCI-PCI bridge whose bus numbers (0x18 primary, 0x19 secondary,
 * 0x1a subordinate) the guest may not change: the policy finds hidden and guarded functions by
 * bus number, and renumbering a bridge would move one behind it to an address the policy does not
 * know (a passed-through one). A write that would change them keeps the current numbers (the rest
 * of the write goes through) and is reported through refused(). */
enum pci_guest_mode { PCI_PASSTHROUGH, PCI_HIDDEN, PCI_VIRTUALIZED, PCI_READONLY, PCI_BRIDGE };

struct pci_conf1 {
    u32 address; /* the guest's CONFIG_ADDRESS latch */
    const struct pci_cfg_access *host;
    /* Policy: how the guest sees bdf; for PCI_VIRTUALIZED, *vdev is set. */
    enum pci_guest_mode (*mode_of)(u16 bdf, struct pci_vdev **vdev, void *ctx);
    /* A write to a PCI_READONLY function was dropped, or one to a PCI_BRIDGE's bus numbers
     * (may be NULL). */
    void (*refused)(u16 bdf, u16 off, u8 size, u32 value, void *ctx);
    void *ctx;
};

/* One guest configuration access to register off (< 4096) of bdf, by the policy; sizes 1, 2, 4
 * naturally aligned (else all ones / dropped). conf1 and ECAM both come through here. */
u32 pci_guest_cfg_read(struct pci_conf1 *c, u16 bdf, u16 off, u8 size);
void pci_guest_cfg_write(struct pci_conf1 *c, u16 bdf, u16 off, u8 size, u32 value);

/* Is this port (for an access of size bytes) one the emulation owns? 0xCF8 as a dword, and
 * 0xCFC-0xCFF; byte access to 0xCF9 (reset control) is not config space. */
bool pci_conf1_owns(u16 port, u8 size);
u32 pci_conf1_in(struct pci_conf1 *c, u16 port, u8 size);
void pci_conf1_out(struct pci_conf1 *c, u16 port, u8 size, u32 value);

#endif
