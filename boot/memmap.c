/* UEFI memory map handling (see memmap.h). Only memset/memcpy from hv/lib/lib.h: libefi has those. */
#include "boot/memmap.h"
#include "boot/console.h"
#include "lib/lib.h"

/* Room for the map to grow between the first fetch and ExitBootServices: our own allocations add
 * a few descriptors, and after a failed ExitBootServices nothing may be allocated any more. */
#define MAP_SLACK_DESCRIPTORS 64

/* UEFI 2.5+ type GNU-EFI 3.0.15 does not name */
#define EFI_PERSISTENT_MEMORY 14

EFI_STATUS memmap_fetch(struct efi_memmap *m)
{
    EFI_PHYSICAL_ADDRESS addr = 0;
    EFI_STATUS st;

    memset(m, 0, sizeof(*m));
    m->size = 0;
    st = uefi_call_wrapper(BS->GetMemoryMap, 5, &m->size, NULL, &m->key, &m->desc_size, &m->desc_version);
    if (st != EFI_BUFFER_TOO_SMALL || m->desc_size < sizeof(EFI_MEMORY_DESCRIPTOR)) {
        say(L"cannot read the UEFI memory map: %r", st);
        return EFI_ERROR(st) ? st : EFI_DEVICE_ERROR;
    }
    m->capacity = ALIGN_UP(m->size + MAP_SLACK_DESCRIPTORS * m->desc_size, EFI_PAGE_SIZE);
    st =
        uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages, EfiLoaderData, EFI_SIZE_TO_PAGES(m->capacity), &addr);
    if (EFI_ERROR(st)) {
        say(L"no memory for the UEFI memory map: %r", st);
        return st;
    }
    m->buf = (EFI_MEMORY_DESCRIPTOR *)(UINTN)addr;
    st = memmap_refetch(m);
    if (EFI_ERROR(st)) {
        say(L"cannot read the UEFI memory map: %r", st);
        memmap_free(m);
    }
    return st;
}

EFI_STATUS memmap_refetch(struct efi_memmap *m)
{
    m->size = m->capacity;
    return uefi_call_wrapper(BS->GetMemoryMap, 5, &m->size, m->buf, &m->key, &m->desc_size, &m->desc_version);
}

void memmap_free(struct efi_memmap *m)
{
    if (m->buf)
        uefi_call_wrapper(BS->FreePages, 2, (EFI_PHYSICAL_ADDRESS)(UINTN)m->buf, EFI_SIZE_TO_PAGES(m->capacity));
    m->buf = NULL;
}

u32 memmap_boot_type(u32 efi_type)
{
    /* As Linux's EFI stub turns the UEFI map into its e820 (drivers/firmware/efi/libstub/x86-stub.c
     * setup_e820), since that is the map the guest would have had booting on this firmware. */
    switch (efi_type) {
    case EfiConventionalMemory:
    case EfiLoaderCode:
    case EfiLoaderData:
    case EfiBootServicesCode:
    case EfiBootServicesData:
        return BOOT_MEM_FREE;
    case EfiRuntimeServicesCode:
    case EfiRuntimeServicesData:
    case EfiPalCode:
        return BOOT_MEM_FIRMWARE;
    case EfiACPIReclaimMemory:
        return BOOT_MEM_ACPI;
    case EfiACPIMemoryNVS:
        return BOOT_MEM_NVS;
    case EfiMemoryMappedIO:
    case EfiMemoryMappedIOPortSpace:
        return BOOT_MEM_MMIO;
    case EfiUnusableMemory:
        return BOOT_MEM_UNUSABLE;
    case EFI_PERSISTENT_MEMORY:
        return BOOT_MEM_PMEM;
    case BOOT_EFI_POSTERN_MEMORY:
        return BOOT_MEM_HV;
    default: /* EfiReservedMemoryType, unaccepted memory (15), anything newer, other OS loaders' types */
        return BOOT_MEM_RESERVED;
    }
}

/* Inserts [base, base+size) into the sorted out[0..*n), merging with same-type neighbours. */
static void region_insert(struct boot_mem_region *out, u32 *n, u32 max, hpa_t base, u64 size, u32 type, u32 efi_type,
                          bool *overflow)
{
    u32 i = *n;

    while (i > 0 && out[i - 1].base > base)
        i--;
    /* Touching the region before it? */
    if (i > 0 && out[i - 1].type == type && out[i - 1].base + out[i - 1].size == base) {
        out[i - 1].size += size;
        /* Now possibly touching the one after it too. */
        if (i < *n && out[i].type == type && out[i - 1].base + out[i - 1].size == out[i].base) {
            out[i - 1].size += out[i].size;
            for (u32 j = i; j + 1 < *n; j++)
                out[j] = out[j + 1];
            (*n)--;
        }
        return;
    }
    /* Touching the region after it? */
    if (i < *n && out[i].type == type && base + size == out[i].base) {
        out[i].base = base;
        out[i].size += size;
        out[i].efi_type = efi_type;
        return;
    }
    if (*n == max) {
        *overflow = true;
        if (i == max)
            return; /* the new region is the highest: drop it */
        (*n)--;     /* drop the highest one to make room */
    }
    for (u32 j = *n; j > i; j--)
        out[j] = out[j - 1];
    out[i] = (struct boot_mem_region){ .base = base, .size = size, .type = type, .efi_type = efi_type };
    (*n)++;
}

u32 memmap_translate(const struct efi_memmap *m, struct boot_mem_region *out, u32 max, bool *overflow)
{
    u32 n = 0;

    *overflow = false;
    for (UINTN off = 0; off + m->desc_size <= m->size; off += m->desc_size) {
        const EFI_MEMORY_DESCRIPTOR *d = (const EFI_MEMORY_DESCRIPTOR *)((const u8 *)m->buf + off);
        if (d->NumberOfPages == 0)
            continue;
        region_insert(out, &n, max, d->PhysicalStart, d->NumberOfPages * EFI_PAGE_SIZE, memmap_boot_type(d->Type),
                      d->Type, overflow);
    }
    return n;
}
