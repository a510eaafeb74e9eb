/* The UEFI memory map: fetching it, finding guest RAM in it, and translating it for boot_info. */
#ifndef POSTERN_BOOT_MEMMAP_H
#define POSTERN_BOOT_MEMMAP_H

#include <efi.h>
#include <efilib.h>
#include "core/boot_info.h"

struct efi_memmap {
    EFI_MEMORY_DESCRIPTOR *buf; /* EfiLoaderData pages, allocated once with slack */
    UINTN capacity;             /* bytes in buf */
    UINTN size;                 /* bytes the last GetMemoryMap filled */
    UINTN key;
    UINTN desc_size;
    UINT32 desc_version;
};

/* Allocates a buffer (with room for the map to grow) and fetches the map. Says why on failure. */
EFI_STATUS memmap_fetch(struct efi_memmap *m);

/* GetMemoryMap into the existing buffer: no allocation, no output (safe between ExitBootServices
 * attempts). */
EFI_STATUS memmap_refetch(struct efi_memmap *m);

void memmap_free(struct efi_memmap *m);

/* The boot_mem_region type for a UEFI memory type. */
u32 memmap_boot_type(u32 efi_type);

/*
 * Translates m into out[], sorted by address, adjacent regions of the same boot type merged (the
 * merged region keeps the lower one's efi_type). At most max regions: on overflow the highest ones
 * are dropped and *overflow set. Pure computation: usable after ExitBootServices.
 */
u32 memmap_translate(const struct efi_memmap *m, struct boot_mem_region *out, u32 max, bool *overflow);


#endif
