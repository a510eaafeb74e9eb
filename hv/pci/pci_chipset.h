/*
 * Host bridges and chipset functions whose configuration registers reach what is the
 * hypervisor's or the platform's, not the guest's: the IOMMU, the memory controller's map, the
 * management processors (AMD's SMN index/data pairs in the root complex at 0x60/0x64 and
 * 0xb8/0xbc reach the PSP, SMU and the IOMMU's own registers; Intel's host bridge holds
 * TOLUD/MCHBAR, the uncore functions the VT-d and memory map registers). The guest may read
 * them; its writes are refused and logged (docs/pci.md, "What is refused"). Pure: unit-tested.
 */
#ifndef POSTERN_PCI_CHIPSET_H
#define POSTERN_PCI_CHIPSET_H

#include "drivers/pci/pci.h"

/* Why the guest's configuration writes to d are refused (a short phrase), or NULL when they are not. */
const char *pci_chipset_write_refused(const struct pci_dev *d);

#endif
