/*
 * The guest's physical address space, derived from the firmware's memory map (docs/guest-boot.md
 * "Memory model"). Memory is identity-mapped: every range sits at its own address and keeps its
 * meaning. Free RAM (conventional, loader and boot-services memory) is the guest's RAM; the
 * firmware's ranges (ACPI tables and NVS, runtime services, reserved, MMIO) are the guest's at
 * their own addresses with their own types; the hypervisor's pages are taken out. Pure: unit-tested.
 */
#ifndef POSTERN_GUEST_PHYSMAP_H
#define POSTERN_GUEST_PHYSMAP_H

#include "core/boot_info.h"
#include "core/guest_mem.h"

struct phys_range {
    u64 base, size;
};

/* What a range is to the guest. Where the firmware's map says nothing (device space, BARs) it is
 * a hole: mapped identity and uncached, not listed in the e820. */
enum physmap_kind {
    PHYS_RAM = 1,  /* the guest's usable RAM: e820 1, write-back */
    PHYS_ACPI,     /* ACPI tables: e820 3, write-back */
    PHYS_NVS,      /* ACPI NVS: e820 4, write-back */
    PHYS_PMEM,     /* persistent memory: e820 7, write-back */
    PHYS_FIRMWARE, /* runtime services, reserved: e820 2, mapped uncached (AML may reach it) */
    PHYS_MMIO,     /* firmware-reported MMIO (ECAM, flash): e820 2, mapped uncached */
    PHYS_UNUSABLE, /* bad memory: e820 5, not mapped */
    PHYS_CAPPED,   /* RAM beyond guest_ram: e820 2, not mapped */
    PHYS_HV,       /* the hypervisor's: e820 2, not mapped, not in any DMA domain */
};

struct physmap_region {
    u64 base, size;
    u32 kind; /* enum physmap_kind */
};

#define PHYSMAP_MAX_HV      32
#define PHYSMAP_MAX_REGIONS (2 * (BOOT_MAX_MEM_REGIONS + PHYSMAP_MAX_HV) + 2)

struct guest_physmap {
    struct physmap_region r[PHYSMAP_MAX_REGIONS]; /* sorted, disjoint, adjacent same-kind merged */
    u32 count;
    u64 ram_bytes, capped_bytes, hv_bytes;
    /* The guest's RAM for gmem_ptr: PHYS_RAM, ACPI and NVS, adjacent ones merged. */
    struct gmem_range ram[PHYSMAP_MAX_REGIONS];
    u32 ram_count;
};

/*
 * Build the guest's map from the firmware's regions fw[0..nfw) (any order; overlaps are resolved
 * to the more restrictive type: the hypervisor's first, then unusable, MMIO, reserved, firmware,
 * NVS, ACPI, persistent, free) and the hypervisor's own ranges hv[0..nhv), which become PHYS_HV
 * whatever the firmware said. RAM is shrunk to whole pages, everything else grown to them. With
 * cap != 0 the guest's usable RAM is the lowest cap bytes of it, the rest PHYS_CAPPED.
 * Returns 0, or -1 with a reason (too many regions, no RAM at all).
 */
int physmap_build(const struct boot_mem_region *fw, u32 nfw, const struct phys_range *hv, u32 nhv, u64 cap,
                  struct guest_physmap *out, char *err, size_t errsz);

/* The kind at addr, or 0 for a hole. */
u32 physmap_kind_at(const struct guest_physmap *m, u64 addr);

/* Whether the guest's nested page tables map this kind, and how (NPT_* permissions, 0: not mapped). */
u32 physmap_npt_perms(u32 kind);

const char *physmap_kind_name(u32 kind);

/* Call fn for each maximal range of [0, limit) with one set of NPT permissions (holes included,
 * as uncached device space), in address order. Returns false as soon as fn does. */
bool physmap_for_each_mapping(const struct guest_physmap *m, u64 limit,
                              bool (*fn)(void *ctx, u64 base, u64 size, u32 perms), void *ctx);

/* May [base, base+size) be identity-mapped into the guest as device memory (a BAR, the I/O APIC)?
 * True when it is page-aligned, in a hole or firmware MMIO/reserved range, and touches no RAM. */
bool physmap_device_range_ok(const struct guest_physmap *m, u64 base, u64 size);

#endif
