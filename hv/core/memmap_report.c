/* See memmap_report.h. */
#include "core/memmap_report.h"
#include "lib/platform_report.h"

static void memmap_fill(struct report_sink *s, const void *ctx)
{
    const struct guest_physmap *pm = ctx;
    u64 by_kind[PHYS_HV + 1] = { 0 }, top = 0;

    for (u32 i = 0; i < pm->count; i++) {
        const struct physmap_region *r = &pm->r[i];
        if (r->kind <= PHYS_HV)
            by_kind[r->kind] += r->size;
        if ((r->kind == PHYS_RAM || r->kind == PHYS_CAPPED) && r->base + r->size > top)
            top = r->base + r->size;
    }
    report_line(s, "the machine's map, identity-mapped (guest-physical = host-physical): %u regions", pm->count);
    report_line(s, "guest RAM %llu MiB in %u ranges, up to 0x%llx; capped by guest_ram %llu MiB",
                (unsigned long long)(pm->ram_bytes >> 20), pm->ram_count, (unsigned long long)top,
                (unsigned long long)(pm->capped_bytes >> 20));
    report_line(s, "ACPI %llu KiB, NVS %llu KiB, firmware/reserved %llu KiB, MMIO %llu KiB, unusable %llu KiB",
                (unsigned long long)(by_kind[PHYS_ACPI] >> 10), (unsigned long long)(by_kind[PHYS_NVS] >> 10),
                (unsigned long long)(by_kind[PHYS_FIRMWARE] >> 10), (unsigned long long)(by_kind[PHYS_MMIO] >> 10),
                (unsigned long long)(by_kind[PHYS_UNUSABLE] >> 10));
    report_line(s, "hypervisor %llu KiB (its pool, image, boot_info, metadata): reserved, not mapped",
                (unsigned long long)(pm->hv_bytes >> 10));
}

void memmap_report_register(const struct guest_physmap *pm) { platform_report_add(REPORT_MEMORY, memmap_fill, pm); }
