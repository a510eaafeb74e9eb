/*
 * The guest-physical address space: guest RAM at [0, ram_size) backed by one host range, and
 * identity-mapped device windows the guest must reach (local APIC, I/O APIC, HPET, PCI config
 * and BARs). A device window is any address in [ram_size, 4 GiB) that the firmware's memory map
 * does not describe as memory of any kind: the hypervisor's own pages, firmware data and the
 * rest of host RAM are never mapped, so no guest-physical address reaches them.
 */
#ifndef POSTERN_GUEST_PHYSMAP_H
#define POSTERN_GUEST_PHYSMAP_H

#include "core/boot_info.h"

struct phys_range {
    u64 base, size;
};

#define PHYSMAP_MAX_WINDOWS 64
#define PHYSMAP_MMIO_LIMIT  GiB(4)

/* Fill out[] with the device windows in [start, PHYSMAP_MMIO_LIMIT), page aligned, sorted.
 * Returns the count, or -1 when more than max windows would be needed. Pure: unit-tested. */
int physmap_device_windows(const struct boot_mem_region *mem, u32 count, u64 start, struct phys_range *out, int max);

/* May [base, base+size) be identity-mapped into the guest as device memory? True when no RAM the
 * firmware, the loader or the hypervisor uses (free, used or ACPI regions) overlaps it; firmware
 * "reserved" and MMIO regions may (firmware marks PCIe ECAM windows reserved). */
bool physmap_device_range_ok(const struct boot_mem_region *mem, u32 count, u64 base, u64 size);

#endif
