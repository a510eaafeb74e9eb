/*
 * The guest's BIOS-style memory map (e820), as Linux reads it from boot_params.e820_table.
 * It describes guest RAM only: the hypervisor's memory is not guest-physical, so it never appears.
 */
#ifndef POSTERN_E820_H
#define POSTERN_E820_H

#include "lib/types.h"

#define E820_TYPE_RAM      1
#define E820_TYPE_RESERVED 2
#define E820_TYPE_ACPI     3
#define E820_TYPE_NVS      4

/* boot_params holds 128 entries (E820_MAX_ENTRIES_ZEROPAGE in zero-page.rst). */
#define E820_MAX_ENTRIES 128

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

/*
 * Fill map for a guest with ram_size bytes at guest-physical 0 (see docs/guest-boot.md):
 *   [0, GUEST_LOW_RAM_END) RAM, [GUEST_LOW_RAM_END, 1 MiB) reserved,
 *   [1 MiB, ram_size - GUEST_ACPI_SIZE) RAM, [ram_size - GUEST_ACPI_SIZE, ram_size) ACPI NVS.
 * Returns 0, or -1 with a message in err when ram_size cannot hold that layout.
 */
int e820_build_guest(u64 ram_size, struct e820_map *map, char *err, size_t errsz);

#endif
