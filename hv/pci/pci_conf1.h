/*
 * The guest's PCI configuration mechanism #1 (ports 0xCF8 CONFIG_ADDRESS, 0xCFC-0xCFF
 * CONFIG_DATA), emulated: the guest is given no ECAM (its MCFG is dropped and the window is not
 * mapped), so every configuration access it makes comes through here and follows the policy:
 * passed through to the host, emulated by a pci_vdev, or hidden (reads all ones, writes dropped).
 */
#ifndef POSTERN_PCI_CONF1_H
#define POSTERN_PCI_CONF1_H

#include "drivers/pci/pci.h"
#include "pci/pci_vdev.h"

#define PCI_CONF1_ADDRESS 0xcf8
#define PCI_CONF1_DATA    0xcfc

enum pci_guest_mode { PCI_PASSTHROUGH, PCI_HIDDEN, PCI_VIRTUALIZED };

struct pci_conf1 {
    u32 address; /* the guest's CONFIG_ADDRESS latch */
    const struct pci_cfg_access *host;
    /* Policy: how the guest sees bdf; for PCI_VIRTUALIZED, *vdev is set. */
    enum pci_guest_mode (*mode_of)(u16 bdf, struct pci_vdev **vdev, void *ctx);
    void *ctx;
};

/* Is this port (for an access of size bytes) one the emulation owns? 0xCF8 as a dword, and
 * 0xCFC-0xCFF; byte access to 0xCF9 (reset control) is not config space. */
bool pci_conf1_owns(u16 port, u8 size);
u32 pci_conf1_in(struct pci_conf1 *c, u16 port, u8 size);
void pci_conf1_out(struct pci_conf1 *c, u16 port, u8 size, u32 value);

#endif
