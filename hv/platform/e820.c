/* The guest's e820 map (docs/guest-boot.md "e820 map"). */
#include "platform/e820.h"
#include "lib/lib.h"
#include "lib/log.h"

u32 e820_type_of(u32 kind)
{
    switch (kind) {
    case PHYS_RAM:
        return E820_TYPE_RAM;
    case PHYS_ACPI:
        return E820_TYPE_ACPI;
    case PHYS_NVS:
        return E820_TYPE_NVS;
    case PHYS_UNUSABLE:
        return E820_TYPE_UNUSABLE;
    case PHYS_PMEM:
        return E820_TYPE_PMEM;
    case PHYS_FIRMWARE:
    case PHYS_MMIO:
    case PHYS_CAPPED:
    case PHYS_HV:
        return E820_TYPE_RESERVED;
    default:
        return 0;
    }
}

int e820_build_guest(const struct guest_physmap *pm, struct e820_map *map, char *err, size_t errsz)
{
    memset(map, 0, sizeof(*map));
    for (u32 i = 0; i < pm->count; i++) {
        const struct physmap_region *r = &pm->r[i];
        u32 type = e820_type_of(r->kind);
        struct e820_entry *last = map->count ? &map->entries[map->count - 1] : NULL;
        if (!type)
            continue;
        if (last && last->type == type && last->addr + last->size == r->base) {
            last->size += r->size;
            continue;
        }
        if (map->count == E820_MAX_ENTRIES) {
            fmt_snprintf(err, errsz, "e820: the memory map needs more than %u entries", E820_MAX_ENTRIES);
            return -1;
        }
        map->entries[map->count++] = (struct e820_entry){ r->base, r->size, type };
    }
    return 0;
}
