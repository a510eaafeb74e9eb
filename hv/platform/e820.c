/* The guest's e820 map: a fixed shape derived from the guest RAM size (docs/guest-boot.md). */
#include "platform/e820.h"
#include "core/guest_layout.h"
#include "lib/lib.h"
#include "lib/log.h"

static void add(struct e820_map *map, u64 addr, u64 size, u32 type)
{
    struct e820_entry *e = &map->entries[map->count++];

    e->addr = addr;
    e->size = size;
    e->type = type;
}

int e820_build_guest(u64 ram_size, struct e820_map *map, char *err, size_t errsz)
{
    /* Anything smaller leaves no high RAM for the kernel between 1 MiB and the ACPI area. */
    u64 min = GUEST_HIGH_RAM_START + GUEST_ACPI_SIZE + PAGE_SIZE;

    memset(map, 0, sizeof(*map));
    if (!IS_ALIGNED(ram_size, PAGE_SIZE)) {
        fmt_snprintf(err, errsz, "e820: guest RAM size 0x%lx is not page-aligned", ram_size);
        return -1;
    }
    if (ram_size < min) {
        fmt_snprintf(err, errsz, "e820: guest RAM size 0x%lx is below the minimum 0x%lx", ram_size, min);
        return -1;
    }

    add(map, 0, GUEST_LOW_RAM_END, E820_TYPE_RAM);
    /* Where a PC has its EBDA, VGA window and option ROMs: nothing there, but Linux expects a hole. */
    add(map, GUEST_LOW_RAM_END, GUEST_HIGH_RAM_START - GUEST_LOW_RAM_END, E820_TYPE_RESERVED);
    add(map, GUEST_HIGH_RAM_START, ram_size - GUEST_ACPI_SIZE - GUEST_HIGH_RAM_START, E820_TYPE_RAM);
    /* NVS rather than ACPI-reclaimable: the FACS lives there and must never be reused as RAM. */
    add(map, ram_size - GUEST_ACPI_SIZE, GUEST_ACPI_SIZE, E820_TYPE_NVS);
    return 0;
}
