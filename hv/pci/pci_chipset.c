/* See pci_chipset.h. */
#include "pci/pci_chipset.h"

#define VENDOR_AMD   0x1022
#define VENDOR_HYGON 0x1d94
#define VENDOR_INTEL 0x8086

#define CLASS_IOMMU        0x0806 /* base 08 (system peripheral), sub 06 (IOMMU) */
#define CLASS_SYSTEM_OTHER 0x0880 /* base 08, sub 80: Intel's uncore and IIO functions */
#define AMD_NB_DEV_FIRST   0x18   /* AMD's northbridge / data fabric functions: bus 0, dev 18-1f */
#define AMD_NB_DEV_LAST    0x1f

const char *pci_chipset_write_refused(const struct pci_dev *d)
{
    u16 cls = (u16)(d->class_rev >> 16);
    bool amd = d->vendor == VENDOR_AMD || d->vendor == VENDOR_HYGON;

    if (cls == PCI_CLASS_HOST_BRIDGE)
        return "host bridge (root complex registers: AMD's SMN index/data, Intel's memory map)";
    if (cls == CLASS_IOMMU)
        return "IOMMU function";
    if (amd && PCI_BUS(d->bdf) == 0 && PCI_DEV(d->bdf) >= AMD_NB_DEV_FIRST && PCI_DEV(d->bdf) <= AMD_NB_DEV_LAST)
        return "AMD northbridge / data fabric function";
    if (d->vendor == VENDOR_INTEL && cls == CLASS_SYSTEM_OTHER)
        return "Intel uncore / IIO system function";
    return NULL;
}
