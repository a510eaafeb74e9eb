/*
 * The guest's BIOS-style memory map (e820), as Linux reads it from boot_params.e820_table: the
 * machine's own map (hv/core/guest_physmap.h) with the hypervisor's pages, and RAM beyond a
 * guest_ram cap, listed as reserved.
 */
#ifndef POSTERN_E820_H
#define POSTERN_E820_H

#include "core/guest_physmap.h"
#include "lib/types.h"

#define E820_TYPE_RAM      1
#define E820_TYPE_RESERVED 2
#define E820_TYPE_ACPI     3
#define E820_TYPE_NVS      4
#define E820_TYPE_UNUSABLE 5
#define E820_TYPE_PMEM     7

/* boot_params holds 128 entries (E820_MAX_ENTRIES_ZEROPAGE in zero-page.rst); the rest go in a
 * SETUP_E820_EXT setup_data block (what Linux's EFI stub does on a fragmented UEFI map). Linux
 * keeps up to 3 * MAX_NUMNODES + 128 entries (3200 on Debian's kernel): 1024 is far below that
 * and above any server's map. */
#define E820_MAX_ZEROPAGE 128
#define E820_MAX_ENTRIES  1024

/* The boot_params layout: 20 bytes, no padding. */
struct e820_entry {
    u64 addr;
    u64 size;
    u32 type;
} PACKED;

_Static_assert(sizeof(struct e820_entry) == 20, "e820 entry must match boot_params");

struct e820_map {
    u32 count;
    struct e820_entry entries[E820_MAX_ENTRIES];
};

/* The e820 type a physmap kind is listed as (0: a hole, not listed). */
u32 e820_type_of(u32 physmap_kind);

/*
 * Fill map from the guest's physical map: one entry per run of regions with the same e820 type
 * (device-space holes are not listed; firmware MMIO is, as reserved, as Linux's EFI stub lists it).
 * Returns 0, or -1 with a message in err when it needs more than E820_MAX_ENTRIES entries (the
 * boot protocol's first E820_MAX_ZEROPAGE go in boot_params, the rest in setup_data).
 */
int e820_build_guest(const struct guest_physmap *pm, struct e820_map *map, char *err, size_t errsz);

#endif
