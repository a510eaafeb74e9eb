/* See memmap_report.h. */
#include "core/memmap_report.h"
#include "core/guest_physmap.h"
#include "lib/platform_report.h"

static void memmap_fill(struct report_sink *s, const void *ctx)
{
    const struct boot_info *bi = ctx;
    u64 ram = 0, free_ram = 0, acpi = 0, mmio = 0, reserved = 0, top = 0;
    struct phys_range win[PHYSMAP_MAX_WINDOWS];
    int nwin;

    for (u32 i = 0; i < bi->mem_count; i++) {
        const struct boot_mem_region *r = &bi->mem[i];
        if (r->type == BOOT_MEM_FREE || r->type == BOOT_MEM_USED) {
            ram += r->size;
            free_ram += r->type == BOOT_MEM_FREE ? r->size : 0;
            if (r->base + r->size > top)
                top = r->base + r->size;
        } else if (r->type == BOOT_MEM_ACPI) {
            acpi += r->size;
        } else if (r->type == BOOT_MEM_MMIO) {
            mmio += r->size;
        } else {
            reserved += r->size;
        }
    }
    report_line(s,
                "firmware map: %u regions; RAM %llu MiB (%llu MiB free at hand-over) up to 0x%llx; ACPI %llu KiB, "
                "MMIO %llu KiB, reserved %llu KiB",
                bi->mem_count, (unsigned long long)(ram >> 20), (unsigned long long)(free_ram >> 20),
                (unsigned long long)top, (unsigned long long)(acpi >> 10), (unsigned long long)(mmio >> 10),
                (unsigned long long)(reserved >> 10));
    report_line(s, "guest RAM 0x%llx+%llu MiB, hypervisor pool 0x%llx+%llu MiB, hypervisor image 0x%llx+%llu KiB",
                (unsigned long long)bi->guest_ram_base, (unsigned long long)(bi->guest_ram_size >> 20),
                (unsigned long long)bi->hv_pool_base, (unsigned long long)(bi->hv_pool_size >> 20),
                (unsigned long long)bi->hv_image_base, (unsigned long long)(bi->hv_image_size >> 10));
    nwin = physmap_device_windows(bi->mem, bi->mem_count, bi->guest_ram_size, win, PHYSMAP_MAX_WINDOWS);
    if (nwin < 0)
        report_line(s, "device windows below 4 GiB: more than %d", PHYSMAP_MAX_WINDOWS);
    else
        report_line(s, "device windows below 4 GiB passed through to the guest: %d", nwin);
}

void memmap_report_register(const struct boot_info *bi) { platform_report_add(REPORT_MEMORY, memmap_fill, bi); }
