/* UNIT-SOURCES: hv/core/guest_physmap.c hv/core/cpuid_policy.c hv/lib/fmt.c */
/* The guest's physical map built from the firmware's (guest_physmap.h), gmem_ptr's checks
 * (guest_mem.h), and what CPUID the guest sees. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/guest_physmap.h"
#include "core/cpuid_policy.h"
#include "core/npt.h"
#include "lib/lib.h"

static char err[200];
static struct guest_physmap pm;

static void expect_region(const struct guest_physmap *m, u32 i, u64 base, u64 size, u32 kind)
{
    if (i >= m->count)
        fail_msg("region %u: only %u regions", i, m->count);
    if (m->r[i].base != base || m->r[i].size != size || m->r[i].kind != kind)
        fail_msg("region %u: 0x%llx+0x%llx %s, expected 0x%llx+0x%llx %s", i, (unsigned long long)m->r[i].base,
                 (unsigned long long)m->r[i].size, physmap_kind_name(m->r[i].kind), (unsigned long long)base,
                 (unsigned long long)size, physmap_kind_name(kind));
}

/* Every map physmap_build returns: sorted, disjoint, page-aligned, no empty region, neighbours
 * of one kind merged; the RAM list is RAM, ACPI and NVS merged; the byte counts add up. */
static void check_invariants(const struct guest_physmap *m)
{
    u64 ram = 0, capped = 0, hv = 0, listed = 0;
    for (u32 i = 0; i < m->count; i++) {
        const struct physmap_region *r = &m->r[i];
        assert_true(r->size > 0);
        assert_int_equal(r->base % PAGE_SIZE, 0);
        assert_int_equal(r->size % PAGE_SIZE, 0);
        if (i) {
            const struct physmap_region *p = &m->r[i - 1];
            assert_true(p->base + p->size <= r->base);
            assert_false(p->base + p->size == r->base && p->kind == r->kind);
        }
        ram += r->kind == PHYS_RAM ? r->size : 0;
        capped += r->kind == PHYS_CAPPED ? r->size : 0;
        hv += r->kind == PHYS_HV ? r->size : 0;
        if (r->kind == PHYS_RAM || r->kind == PHYS_ACPI || r->kind == PHYS_NVS)
            listed += r->size;
    }
    assert_int_equal(m->ram_bytes, ram);
    assert_int_equal(m->capped_bytes, capped);
    assert_int_equal(m->hv_bytes, hv);
    for (u32 i = 0; i < m->ram_count; i++) {
        listed -= m->ram[i].size;
        if (i)
            assert_true(m->ram[i - 1].base + m->ram[i - 1].size < m->ram[i].base); /* merged when adjacent */
        for (u64 a = m->ram[i].base; a < m->ram[i].base + m->ram[i].size; a += m->ram[i].size / 4 + PAGE_SIZE) {
            u32 k = physmap_kind_at(m, a);
            assert_true(k == PHYS_RAM || k == PHYS_ACPI || k == PHYS_NVS);
        }
    }
    assert_int_equal(listed, 0);
}

static int build(const struct boot_mem_region *fw, u32 nfw, const struct phys_range *hv, u32 nhv, u64 cap)
{
    err[0] = 0;
    int rc = physmap_build(fw, nfw, hv, nhv, cap, &pm, err, sizeof(err));
    if (rc == 0)
        check_invariants(&pm);
    return rc;
}

/* Roughly what OVMF reports on q35 with 1 GiB: RAM with the legacy hole, ECAM as reserved, flash
 * as MMIO. Holes stay holes (device space), not regions. */
static const struct boot_mem_region q35[] = {
    { 0x0, 0xa0000, BOOT_MEM_FREE, 7 },
    { 0x100000, 0x3ff00000, BOOT_MEM_FREE, 2 },
    { 0xb0000000, 0x10000000, BOOT_MEM_RESERVED, 0 }, /* ECAM reported as reserved */
    { 0xffc00000, 0x400000, BOOT_MEM_MMIO, 11 },
};

static void a_map_with_holes_keeps_them(void **state)
{
    assert_int_equal(build(q35, 4, NULL, 0, 0), 0);
    assert_int_equal(pm.count, 4);
    expect_region(&pm, 0, 0, 0xa0000, PHYS_RAM);
    expect_region(&pm, 1, 0x100000, 0x3ff00000, PHYS_RAM);
    expect_region(&pm, 2, 0xb0000000, 0x10000000, PHYS_FIRMWARE);
    expect_region(&pm, 3, 0xffc00000, 0x400000, PHYS_MMIO);
    assert_int_equal(pm.ram_bytes, 0xa0000 + 0x3ff00000);
    assert_int_equal(pm.ram_count, 2);
    assert_int_equal(physmap_kind_at(&pm, 0xa0000), 0); /* the legacy hole */
    assert_int_equal(physmap_kind_at(&pm, GiB(2)), 0);
    assert_int_equal(physmap_kind_at(&pm, 0xfffff000), PHYS_MMIO);
    assert_string_equal(physmap_kind_name(0), "device space");
    assert_string_equal(physmap_kind_name(PHYS_HV), "hypervisor");
    assert_string_equal(physmap_kind_name(99), "?");
}

/* Any order, duplicates and overlaps: the more restrictive type wins where two overlap, and
 * neighbours of one type merge. */
static void unsorted_and_overlapping_entries_resolve_to_the_stricter_type(void **state)
{
    static const struct boot_mem_region fw[] = {
        { MiB(32), MiB(16), BOOT_MEM_FREE, 7 },                 /* adjacent to the next-but-one: merged */
        { MiB(8), MiB(1), BOOT_MEM_NVS, 10 },                   /* inside RAM */
        { 0, MiB(32), BOOT_MEM_FREE, 7 },                       /* listed after what it contains */
        { 0, MiB(32), BOOT_MEM_FREE, 7 },                       /* duplicate */
        { MiB(12), MiB(2), BOOT_MEM_ACPI, 9 },                  /* ACPI over RAM ... */
        { MiB(13), MiB(2), BOOT_MEM_NVS, 10 },                  /* ... NVS over ACPI and RAM */
        { MiB(20), MiB(1), BOOT_MEM_PMEM, 14 },                 /* persistent memory over RAM */
        { MiB(20) + MiB(1) / 2, MiB(1), BOOT_MEM_FIRMWARE, 6 }, /* runtime services over PMEM and RAM */
        { GiB(3), MiB(4), BOOT_MEM_RESERVED, 0 },
        { GiB(3) + MiB(2), MiB(4), BOOT_MEM_MMIO, 11 },    /* MMIO over reserved */
        { GiB(3) + MiB(4), MiB(4), BOOT_MEM_UNUSABLE, 8 }, /* unusable over MMIO */
        { MiB(40), MiB(1), BOOT_MEM_HV, 0x8050534e },      /* the hypervisor's, as the loader typed it */
    };
    assert_int_equal(build(fw, ARRAY_SIZE(fw), NULL, 0, 0), 0);
    u32 i = 0;
    expect_region(&pm, i++, 0, MiB(8), PHYS_RAM);
    expect_region(&pm, i++, MiB(8), MiB(1), PHYS_NVS);
    expect_region(&pm, i++, MiB(9), MiB(3), PHYS_RAM);
    expect_region(&pm, i++, MiB(12), MiB(1), PHYS_ACPI);
    expect_region(&pm, i++, MiB(13), MiB(2), PHYS_NVS);
    expect_region(&pm, i++, MiB(15), MiB(5), PHYS_RAM);
    expect_region(&pm, i++, MiB(20), MiB(1) / 2, PHYS_PMEM);
    expect_region(&pm, i++, MiB(20) + MiB(1) / 2, MiB(1), PHYS_FIRMWARE);
    expect_region(&pm, i++, MiB(21) + MiB(1) / 2, MiB(40) - MiB(21) - MiB(1) / 2, PHYS_RAM);
    expect_region(&pm, i++, MiB(40), MiB(1), PHYS_HV);
    expect_region(&pm, i++, MiB(41), MiB(7), PHYS_RAM);
    expect_region(&pm, i++, GiB(3), MiB(2), PHYS_FIRMWARE);
    expect_region(&pm, i++, GiB(3) + MiB(2), MiB(2), PHYS_MMIO);
    expect_region(&pm, i++, GiB(3) + MiB(4), MiB(4), PHYS_UNUSABLE);
    assert_int_equal(pm.count, i);
    /* gmem_ptr's list: RAM, ACPI and NVS merged up to the firmware's pages, then up to the hypervisor's */
    assert_int_equal(pm.ram_count, 3); /* persistent memory is not in it */
    assert_int_equal(pm.ram[0].base, 0);
    assert_int_equal(pm.ram[0].size, MiB(20));
    assert_int_equal(pm.ram[1].base, MiB(21) + MiB(1) / 2);
    assert_int_equal(pm.ram[2].base, MiB(41));
    assert_int_equal(pm.hv_bytes, MiB(1));
}

static void ram_above_4g_is_the_guests(void **state)
{
    static const struct boot_mem_region fw[] = {
        { GiB(4), GiB(2), BOOT_MEM_FREE, 7 },
        { 0x100000, 0x7ff00000, BOOT_MEM_FREE, 7 },
        { GiB(6), GiB(58), BOOT_MEM_FREE, 7 }, /* adjacent: one region up to 64 GiB */
        { GiB(1024), GiB(1), BOOT_MEM_PMEM, 14 },
    };
    assert_int_equal(build(fw, ARRAY_SIZE(fw), NULL, 0, 0), 0);
    assert_int_equal(pm.count, 3);
    expect_region(&pm, 0, 0x100000, 0x7ff00000, PHYS_RAM);
    expect_region(&pm, 1, GiB(4), GiB(60), PHYS_RAM);
    expect_region(&pm, 2, GiB(1024), GiB(1), PHYS_PMEM);
    assert_int_equal(pm.ram_bytes, 0x7ff00000 + GiB(60));
    assert_int_equal(pm.ram_count, 2);
    assert_int_equal(pm.ram[1].base, GiB(4));
    assert_int_equal(pm.ram[1].size, GiB(60));
    assert_int_equal(physmap_kind_at(&pm, GiB(64) - 1), PHYS_RAM);
    assert_int_equal(physmap_kind_at(&pm, GiB(64)), 0);
}

/* guest_ram: the lowest cap bytes of RAM stay usable, the rest (above 4 GiB first to go) is
 * PHYS_CAPPED; the cap counts RAM only, not the firmware's ranges in between. */
static void a_cap_keeps_the_lowest_ram(void **state)
{
    static const struct boot_mem_region fw[] = {
        { 0, 0xa0000, BOOT_MEM_FREE, 7 },
        { 0x100000, GiB(1) - 0x100000, BOOT_MEM_FREE, 7 },
        { MiB(100), MiB(1), BOOT_MEM_ACPI, 9 },
        { GiB(4), GiB(2), BOOT_MEM_FREE, 7 },
    };
    assert_int_equal(build(fw, ARRAY_SIZE(fw), NULL, 0, MiB(512)), 0);
    u64 low = MiB(512) - 0xa0000 - (MiB(100) - 0x100000); /* what the cap leaves above the ACPI table */
    expect_region(&pm, 0, 0, 0xa0000, PHYS_RAM);
    expect_region(&pm, 1, 0x100000, MiB(99), PHYS_RAM);
    expect_region(&pm, 2, MiB(100), MiB(1), PHYS_ACPI);
    expect_region(&pm, 3, MiB(101), low, PHYS_RAM);
    expect_region(&pm, 4, MiB(101) + low, GiB(1) - MiB(101) - low, PHYS_CAPPED);
    expect_region(&pm, 5, GiB(4), GiB(2), PHYS_CAPPED);
    assert_int_equal(pm.count, 6);
    assert_int_equal(pm.ram_bytes, MiB(512));
    assert_int_equal(pm.capped_bytes, GiB(1) - 0x60000 - MiB(1) - MiB(512) + GiB(2));
    assert_int_equal(pm.ram[pm.ram_count - 1].base + pm.ram[pm.ram_count - 1].size, MiB(101) + low);

    /* not page-aligned: rounded down to a page */
    assert_int_equal(build(fw, ARRAY_SIZE(fw), NULL, 0, MiB(512) + 100), 0);
    assert_int_equal(pm.ram_bytes, MiB(512));
    /* falling exactly on a region's end: the next region is capped whole, no empty region */
    assert_int_equal(build(fw, ARRAY_SIZE(fw), NULL, 0, 0xa0000), 0);
    expect_region(&pm, 0, 0, 0xa0000, PHYS_RAM);
    expect_region(&pm, 1, 0x100000, MiB(99), PHYS_CAPPED);
    assert_int_equal(pm.ram_bytes, 0xa0000);
    /* more than there is: nothing capped */
    assert_int_equal(build(fw, ARRAY_SIZE(fw), NULL, 0, GiB(64)), 0);
    assert_int_equal(pm.capped_bytes, 0);
    assert_int_equal(pm.ram_bytes, GiB(3) - 0x60000 - MiB(1));
    /* less than a page: no RAM at all */
    assert_int_equal(build(fw, ARRAY_SIZE(fw), NULL, 0, 100), -1);
    assert_non_null(strstr(err, "no RAM left"));
}

/* The hypervisor's ranges are taken out of RAM whatever the firmware says there. Partial pages:
 * RAM shrinks to whole pages, everything else grows to them, so a page is never half the
 * guest's. */
static void hypervisor_ranges_are_carved_out_on_page_boundaries(void **state)
{
    static const struct boot_mem_region fw[] = {
        { 0x800, 0x9f000 - 0x800, BOOT_MEM_FREE, 7 },    /* starts mid-page: RAM from 0x1000 */
        { 0x9f800, 0x800, BOOT_MEM_RESERVED, 0 },        /* EBDA tail: grows to 0x9f000 */
        { 0x100000, MiB(63) + 0x123, BOOT_MEM_FREE, 7 }, /* ends mid-page */
        { 0xfed00000, 0x400, BOOT_MEM_MMIO, 11 },        /* HPET, less than a page */
        { GiB(2), MiB(16), BOOT_MEM_MMIO, 11 },
    };
    static const struct phys_range hv[] = {
        { MiB(16) + 0x100, 0x2000 }, /* mid-page: grows to [16 MiB, 16 MiB + 12 KiB) */
        { MiB(32), MiB(2) },
        { MiB(33), MiB(2) },            /* overlapping the one before */
        { GiB(2) + MiB(4), PAGE_SIZE }, /* over MMIO: the hypervisor's all the same */
        { GiB(8), MiB(2) },             /* where the firmware says nothing */
    };
    assert_int_equal(build(fw, ARRAY_SIZE(fw), hv, ARRAY_SIZE(hv), 0), 0);
    u32 i = 0;
    expect_region(&pm, i++, 0x1000, 0x9e000, PHYS_RAM);
    expect_region(&pm, i++, 0x9f000, 0x1000, PHYS_FIRMWARE);
    expect_region(&pm, i++, 0x100000, MiB(15), PHYS_RAM);
    expect_region(&pm, i++, MiB(16), 0x3000, PHYS_HV);
    expect_region(&pm, i++, MiB(16) + 0x3000, MiB(16) - 0x3000, PHYS_RAM);
    expect_region(&pm, i++, MiB(32), MiB(3), PHYS_HV);
    expect_region(&pm, i++, MiB(35), MiB(29), PHYS_RAM); /* to 64 MiB: the partial page dropped */
    expect_region(&pm, i++, GiB(2), MiB(4), PHYS_MMIO);
    expect_region(&pm, i++, GiB(2) + MiB(4), PAGE_SIZE, PHYS_HV);
    expect_region(&pm, i++, GiB(2) + MiB(4) + PAGE_SIZE, MiB(12) - PAGE_SIZE, PHYS_MMIO);
    expect_region(&pm, i++, 0xfed00000, PAGE_SIZE, PHYS_MMIO);
    expect_region(&pm, i++, GiB(8), MiB(2), PHYS_HV);
    assert_int_equal(pm.count, i);
    assert_int_equal(pm.hv_bytes, 0x3000 + MiB(3) + PAGE_SIZE + MiB(2));
    /* no hypervisor page is in gmem_ptr's list */
    struct guest_mem gm = { .ranges = pm.ram, .count = pm.ram_count };
    for (u32 h = 0; h < ARRAY_SIZE(hv); h++)
        for (u64 a = ALIGN_DOWN(hv[h].base, PAGE_SIZE); a < hv[h].base + hv[h].size; a += PAGE_SIZE)
            assert_null(gmem_ptr(&gm, a, 1));
    assert_null(gmem_ptr(&gm, 0x800, 1));
    assert_null(gmem_ptr(&gm, MiB(64), 1));
    assert_non_null(gmem_ptr(&gm, MiB(64) - 1, 1));

    /* RAM entirely the hypervisor's: nothing for the guest */
    static const struct phys_range all[] = { { 0, GiB(1) } };
    assert_int_equal(build(fw, ARRAY_SIZE(fw), all, 1, 0), -1);
    assert_non_null(strstr(err, "no RAM left"));
}

static void degenerate_entries_are_harmless(void **state)
{
    static const struct boot_mem_region fw[] = {
        { 0x100000, MiB(16), BOOT_MEM_FREE, 7 },
        { MiB(4), 0, BOOT_MEM_RESERVED, 0 },           /* empty */
        { 0x2000, 0x800, BOOT_MEM_FREE, 7 },           /* less than a page of RAM: dropped */
        { ~0ull - 0xfff, 0x10000, BOOT_MEM_MMIO, 11 }, /* wraps: up to the last page */
        { MiB(2), MiB(1), 77, 0 },                     /* unknown type: treated as firmware's */
    };
    assert_int_equal(build(fw, ARRAY_SIZE(fw), NULL, 0, 0), 0);
    expect_region(&pm, 0, 0x100000, MiB(1), PHYS_RAM);
    expect_region(&pm, 1, MiB(2), MiB(1), PHYS_FIRMWARE);
    expect_region(&pm, 2, MiB(3), MiB(14), PHYS_RAM);
    assert_int_equal(pm.count, 3); /* the wrapping MMIO entry rounds to nothing */
    assert_int_equal(physmap_kind_at(&pm, 0x2000), 0);

    /* RAM in the last page of the address space, whole or wrapping: no page of it is whole */
    static const struct boot_mem_region top[] = {
        { MiB(1), MiB(1), BOOT_MEM_FREE, 7 },
        { ~0ull - 0x800, 0x100, BOOT_MEM_FREE, 7 },
        { ~0ull - 0x7ff, 0x1000, BOOT_MEM_FREE, 7 },
    };
    for (u32 i = 1; i < ARRAY_SIZE(top); i++) {
        struct boot_mem_region two[] = { top[0], top[i] };
        assert_int_equal(build(two, 2, NULL, 0, 0), 0);
        assert_int_equal(pm.count, 1);
        expect_region(&pm, 0, MiB(1), MiB(1), PHYS_RAM);
        assert_int_equal(pm.ram_bytes, MiB(1));
    }
}

static void too_many_regions_is_an_error(void **state)
{
    static struct boot_mem_region fw[BOOT_MAX_MEM_REGIONS + 1];
    static struct phys_range hv[PHYSMAP_MAX_HV + 1];
    for (u32 i = 0; i < ARRAY_SIZE(fw); i++)
        fw[i] = (struct boot_mem_region){ (u64)i * MiB(4), MiB(2), i % 2 ? BOOT_MEM_FREE : BOOT_MEM_NVS, 7 };
    for (u32 i = 0; i < ARRAY_SIZE(hv); i++)
        hv[i] = (struct phys_range){ (u64)i * 2 * MiB(4) + MiB(4) + PAGE_SIZE, PAGE_SIZE }; /* inside RAM regions */
    assert_int_equal(build(fw, BOOT_MAX_MEM_REGIONS + 1, NULL, 0, 0), -1);
    assert_non_null(strstr(err, "at most 512"));
    assert_int_equal(build(fw, 1, hv, PHYSMAP_MAX_HV + 1, 0), -1);
    assert_non_null(strstr(err, "at most"));
    /* the most there may be: every hypervisor range splits a RAM region in three, and a cap one more */
    assert_int_equal(build(fw, BOOT_MAX_MEM_REGIONS, hv, PHYSMAP_MAX_HV, MiB(300) + PAGE_SIZE), 0);
    assert_int_equal(pm.count, BOOT_MAX_MEM_REGIONS + 2 * PHYSMAP_MAX_HV + 1);
    assert_true(pm.count <= PHYSMAP_MAX_REGIONS);
    assert_int_equal(pm.ram_bytes, MiB(300) + PAGE_SIZE);
}

/* ---------------------------------------------------------------- the nested map's ranges */
struct mapping {
    u64 base, size;
    u32 perms;
};
static struct mapping seen[64];
static u32 nseen, stop_after;

static bool collect(void *ctx, u64 base, u64 size, u32 perms)
{
    assert_true(nseen < ARRAY_SIZE(seen));
    seen[nseen++] = (struct mapping){ base, size, perms };
    return nseen != stop_after;
}

static void expect_mapping(u32 i, u64 base, u64 size, u32 perms)
{
    if (i >= nseen)
        fail_msg("mapping %u: only %u", i, nseen);
    if (seen[i].base != base || seen[i].size != size || seen[i].perms != perms)
        fail_msg("mapping %u: 0x%llx+0x%llx perms %x, expected 0x%llx+0x%llx perms %x", i,
                 (unsigned long long)seen[i].base, (unsigned long long)seen[i].size, seen[i].perms,
                 (unsigned long long)base, (unsigned long long)size, perms);
}

#define WB NPT_RWX
#define UC (NPT_RWX | NPT_UNCACHED)

static void mappings_cover_holes_uncached_and_leave_out_what_is_not_the_guests(void **state)
{
    static const struct boot_mem_region fw[] = {
        { 0, 0xa0000, BOOT_MEM_FREE, 7 },
        { 0x100000, MiB(127), BOOT_MEM_FREE, 7 },
        { MiB(128), MiB(1), BOOT_MEM_ACPI, 9 },
        { MiB(129), MiB(1), BOOT_MEM_NVS, 10 },
        { MiB(130), MiB(2), BOOT_MEM_FIRMWARE, 6 },
        { 0xb0000000, MiB(256), BOOT_MEM_RESERVED, 0 },
        { 0xc0000000, PAGE_SIZE, BOOT_MEM_UNUSABLE, 8 },
        { 0xffc00000, MiB(4), BOOT_MEM_MMIO, 11 },
        { GiB(4), GiB(1), BOOT_MEM_FREE, 7 },
    };
    static const struct phys_range hv[] = { { MiB(64), MiB(2) } };

    /* capped to the RAM below 4 GiB: the GiB above is not the guest's */
    assert_int_equal(build(fw, ARRAY_SIZE(fw), hv, 1, 0xa0000 + MiB(127) - MiB(2)), 0);
    assert_int_equal(pm.capped_bytes, GiB(1));
    nseen = 0, stop_after = 0;
    assert_true(physmap_for_each_mapping(&pm, GiB(8), collect, NULL));
    u32 i = 0;
    expect_mapping(i++, 0, 0xa0000, WB);
    expect_mapping(i++, 0xa0000, 0x60000, UC); /* the legacy hole: device space */
    expect_mapping(i++, 0x100000, MiB(63), WB);
    /* the hypervisor's 2 MiB: absent */
    expect_mapping(i++, MiB(66), MiB(64), WB);                /* RAM, ACPI and NVS in one run */
    expect_mapping(i++, MiB(130), 0xc0000000 - MiB(130), UC); /* firmware, hole, reserved, hole */
    /* the unusable page: absent */
    expect_mapping(i++, 0xc0001000, GiB(4) - 0xc0001000, UC);
    /* RAM beyond the cap: absent */
    expect_mapping(i++, GiB(5), GiB(3), UC); /* device space up to the limit */
    assert_int_equal(nseen, i);

    /* a limit inside a region cuts it there */
    nseen = 0;
    assert_true(physmap_for_each_mapping(&pm, MiB(100), collect, NULL));
    assert_int_equal(nseen, 4);
    expect_mapping(3, MiB(66), MiB(34), WB);
    /* the callback stops the walk */
    nseen = 0, stop_after = 2;
    assert_false(physmap_for_each_mapping(&pm, GiB(8), collect, NULL));
    assert_int_equal(nseen, 2);
    stop_after = 0;

    assert_int_equal(physmap_npt_perms(PHYS_CAPPED), 0);
    assert_int_equal(physmap_npt_perms(PHYS_HV), 0);
    assert_int_equal(physmap_npt_perms(PHYS_UNUSABLE), 0);
    assert_int_equal(physmap_npt_perms(PHYS_PMEM), WB);
    assert_int_equal(physmap_npt_perms(PHYS_MMIO), UC);
}

/* Regions after the limit and a map that starts with a region at 0 and ends with one at the top. */
static void mappings_up_to_a_limit_below_the_last_region(void **state)
{
    static const struct boot_mem_region fw[] = {
        { 0, MiB(2), BOOT_MEM_FREE, 7 },
        { MiB(2), MiB(2), BOOT_MEM_MMIO, 11 },
        { GiB(16), MiB(2), BOOT_MEM_FREE, 7 },
    };
    assert_int_equal(build(fw, ARRAY_SIZE(fw), NULL, 0, 0), 0);
    nseen = 0;
    assert_true(physmap_for_each_mapping(&pm, GiB(4), collect, NULL));
    assert_int_equal(nseen, 2);
    expect_mapping(0, 0, MiB(2), WB);
    expect_mapping(1, MiB(2), GiB(4) - MiB(2), UC); /* MMIO and the hole after it */
    nseen = 0;
    assert_true(physmap_for_each_mapping(&pm, GiB(16) + MiB(2), collect, NULL));
    assert_int_equal(nseen, 3);
    expect_mapping(2, GiB(16), MiB(2), WB);
}

static void device_ranges_must_not_touch_ram_or_the_hypervisor(void **state)
{
    static const struct phys_range hv[] = { { GiB(5), MiB(2) } };

    assert_int_equal(build(q35, 4, hv, 1, 0), 0);
    assert_true(physmap_device_range_ok(&pm, 0xb0000000, 0x10000000)); /* ECAM typed reserved */
    assert_true(physmap_device_range_ok(&pm, 0xfec00000, PAGE_SIZE));  /* the I/O APIC, in a hole */
    assert_true(physmap_device_range_ok(&pm, 0xffc00000, MiB(4)));     /* firmware MMIO */
    assert_true(physmap_device_range_ok(&pm, GiB(8), GiB(1)));         /* a 64-bit BAR's place */
    assert_false(physmap_device_range_ok(&pm, 0x3ff00000, 0x200000));  /* reaches into RAM */
    assert_false(physmap_device_range_ok(&pm, 0x0, 0x1000));
    assert_false(physmap_device_range_ok(&pm, GiB(5) + MiB(1), PAGE_SIZE)); /* the hypervisor's */
    assert_false(physmap_device_range_ok(&pm, GiB(5) - PAGE_SIZE, 2 * PAGE_SIZE));
    /* malformed ranges */
    assert_false(physmap_device_range_ok(&pm, 0xb0000000, 0));
    assert_false(physmap_device_range_ok(&pm, 0xb0000010, 0x1000));
    assert_false(physmap_device_range_ok(&pm, 0xb0000000, 0x1010));
    assert_false(physmap_device_range_ok(&pm, ~0xfffull, 0x2000));
}

/* ---------------------------------------------------------------- gmem_ptr */
static void gmem_ptr_checks_every_byte_against_the_ranges(void **state)
{
    static const struct gmem_range r[] = { { 0x1000, 0x9e000 }, { MiB(1), MiB(15) }, { GiB(4), MiB(1) } };
    struct guest_mem gm = { .ranges = r, .count = 3, .hva_offset = 0x10000 };

    /* inside, and at each range's edges */
    assert_ptr_equal(gmem_ptr(&gm, 0x1000, 0x9e000), (void *)(0x1000 + 0x10000));
    assert_non_null(gmem_ptr(&gm, 0x9efff, 1));
    assert_non_null(gmem_ptr(&gm, MiB(1), 8));
    assert_non_null(gmem_ptr(&gm, MiB(16) - 8, 8));
    assert_ptr_equal(gmem_ptr(&gm, GiB(4) + MiB(1) - 1, 1), (void *)(uintptr_t)(GiB(4) + MiB(1) - 1 + 0x10000));
    assert_non_null(gmem_ptr(&gm, MiB(2), 0));
    /* one byte too far, before, between */
    assert_null(gmem_ptr(&gm, 0x1000, 0x9e001));
    assert_null(gmem_ptr(&gm, 0xfff, 2));
    assert_null(gmem_ptr(&gm, 0, 1));
    assert_null(gmem_ptr(&gm, 0x9f000, 1));
    assert_null(gmem_ptr(&gm, 0x9efff, 2)); /* runs into the hole */
    assert_null(gmem_ptr(&gm, MiB(1) - 1, 2));
    assert_null(gmem_ptr(&gm, MiB(16) - 8, 9));
    assert_null(gmem_ptr(&gm, MiB(16), 0)); /* an empty range still has to start in RAM */
    assert_null(gmem_ptr(&gm, GiB(2), 1));
    assert_null(gmem_ptr(&gm, GiB(4) + MiB(1), 1));
    assert_null(gmem_ptr(&gm, 0x1000, MiB(16))); /* spans ranges and the hole between */
    /* overflow: gpa + len wraps */
    assert_null(gmem_ptr(&gm, GiB(4) + 8, ~0ull - 4));
    assert_null(gmem_ptr(&gm, MiB(2), ~0ull));
    assert_null(gmem_ptr(&gm, ~0ull, 1));
    assert_null(gmem_ptr(&gm, ~0ull - 3, 8));
    /* nothing at all */
    struct guest_mem none = { .ranges = r, .count = 0 };
    assert_null(gmem_ptr(&none, 0x1000, 1));

    assert_true(gmem_overlaps(&gm, 0x9f000 - 1, 2));
    assert_false(gmem_overlaps(&gm, 0x9f000, MiB(1) - 0x9f000));
    assert_true(gmem_overlaps(&gm, GiB(2), GiB(4)));
    assert_true(gmem_overlaps(&gm, ~0xfffull, 0x2000)); /* wraps: refused */
}

/* The binary search finds every one of many ranges, and none of the gaps. */
static void gmem_range_of_many_ranges(void **state)
{
    static struct gmem_range r[37];
    for (u32 i = 0; i < ARRAY_SIZE(r); i++)
        r[i] = (struct gmem_range){ GiB(1) * i + MiB(i + 1), MiB(1) * (i + 1) };
    struct guest_mem gm = { .ranges = r, .count = ARRAY_SIZE(r) };
    for (u32 i = 0; i < ARRAY_SIZE(r); i++) {
        assert_ptr_equal(gmem_range_of(&gm, r[i].base), &r[i]);
        assert_ptr_equal(gmem_range_of(&gm, r[i].base + r[i].size - 1), &r[i]);
        assert_null(gmem_range_of(&gm, r[i].base - 1));
        assert_null(gmem_range_of(&gm, r[i].base + r[i].size));
        assert_non_null(gmem_ptr(&gm, r[i].base, r[i].size));
        assert_null(gmem_ptr(&gm, r[i].base, r[i].size + 1));
    }
}

static void cpuid_hides_svm_and_vmx(void **state)
{
    u32 a = 0, b = 0, c = 0xffffffff, d = 0;
    cpuid_policy_apply(1, 0, &a, &b, &c, &d);
    assert_false(c & (1u << 5));
    assert_true(c & (1u << 31));
    assert_true(c & (1u << 3)); /* MONITOR/MWAIT stay visible (the guarded idle loop) */
    c = 0xffffffff;
    cpuid_policy_apply(0x80000001, 0, &a, &b, &c, &d);
    assert_false(c & (1u << 2));
    assert_false(c & (1u << 29)); /* MONITORX/MWAITX */
    assert_true(c & (1u << 3));   /* other bits pass */
    a = b = c = d = 0xffffffff;
    cpuid_policy_apply(0x8000000a, 0, &a, &b, &c, &d);
    assert_int_equal(a | b | c | d, 0);
    a = b = c = d = 0xffffffff;
    cpuid_policy_apply(7, 0, &a, &b, &c, &d); /* Intel PT hidden, the rest of leaf 7 passes */
    assert_int_equal(b, 0xffffffff & ~(1u << 25));
    assert_int_equal(c, 0xffffffff);
    b = 0xffffffff;
    cpuid_policy_apply(7, 1, &a, &b, &c, &d);
    assert_int_equal(b, 0xffffffff);
}

static void cpuid_names_the_hypervisor(void **state)
{
    u32 a, b, c, d;
    char sig[13] = { 0 };
    cpuid_policy_apply(0x40000000, 0, &a, &b, &c, &d);
    memcpy(sig, &b, 4);
    memcpy(sig + 4, &c, 4);
    memcpy(sig + 8, &d, 4);
    assert_string_equal(sig, "PosternHV");
    a = b = c = d = 7;
    cpuid_policy_apply(0x40000001, 0, &a, &b, &c, &d);
    assert_int_equal(a | b | c | d, 0);
}

/* KVM-compatible leaves only where the firmware left x2APIC on (docs/msr.md, "x2APIC") */
static void cpuid_kvm_leaves_only_for_x2apic_handover(void **state)
{
    u32 a, b, c, d;
    char sig[13] = { 0 };

    assert_false(cpuid_policy_wants_kvm_leaves(0xfee00900, false)); /* xAPIC, BSP */
    assert_false(cpuid_policy_wants_kvm_leaves(0xfee00100, false)); /* disabled */
    assert_true(cpuid_policy_wants_kvm_leaves(0xfee00d00, false));  /* x2APIC */
    assert_true(cpuid_policy_wants_kvm_leaves(0xfee00900, true));   /* locked */

    cpuid_policy_offer_kvm_leaves(false);
    a = b = c = d = 7; /* a host hypervisor's own leaves never show through */
    cpuid_policy_apply(0x40000100, 0, &a, &b, &c, &d);
    assert_int_equal(a | b | c | d, 0);
    cpuid_policy_offer_kvm_leaves(true);
    cpuid_policy_apply(0x40000100, 0, &a, &b, &c, &d);
    memcpy(sig, &b, 4);
    memcpy(sig + 4, &c, 4);
    memcpy(sig + 8, &d, 4);
    assert_string_equal(sig, "KVMKVMKVM");
    assert_int_equal(a, 0x40000101);
    a = b = c = d = 7;
    cpuid_policy_apply(0x40000101, 0, &a, &b, &c, &d); /* no features, no hints */
    assert_int_equal(a | b | c | d, 0);
    cpuid_policy_apply(0x40000000, 0, &a, &b, &c, &d); /* Postern's own block is unchanged */
    assert_int_equal(a, 0x40000000);
    a = b = c = d = 7;
    cpuid_policy_apply(0x4000ff00, 0, &a, &b, &c, &d);
    assert_int_equal(a | b | c | d, 0);
    cpuid_policy_offer_kvm_leaves(false);
}

static void cpuid_os_bits_follow_the_guests_cr4(void **state)
{
    u32 ecx = 0;

    cpuid_policy_os_bits(1, 0, BIT(18), &ecx);
    assert_int_equal(ecx, BIT(27));
    ecx = 0xffffffffu;
    cpuid_policy_os_bits(1, 0, 0, &ecx);
    assert_int_equal(ecx, 0xffffffffu & ~(u32)BIT(27));
    ecx = 0;
    cpuid_policy_os_bits(7, 0, BIT(22), &ecx);
    assert_int_equal(ecx, BIT(4));
    ecx = BIT(4);
    cpuid_policy_os_bits(7, 0, BIT(18), &ecx);
    assert_int_equal(ecx, 0);
    /* other leaves and subleaves untouched */
    ecx = 0x12345678;
    cpuid_policy_os_bits(7, 1, 0, &ecx);
    cpuid_policy_os_bits(0x80000001u, 0, 0, &ecx);
    assert_int_equal(ecx, 0x12345678);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_map_with_holes_keeps_them),
        cmocka_unit_test(unsorted_and_overlapping_entries_resolve_to_the_stricter_type),
        cmocka_unit_test(ram_above_4g_is_the_guests),
        cmocka_unit_test(a_cap_keeps_the_lowest_ram),
        cmocka_unit_test(hypervisor_ranges_are_carved_out_on_page_boundaries),
        cmocka_unit_test(degenerate_entries_are_harmless),
        cmocka_unit_test(too_many_regions_is_an_error),
        cmocka_unit_test(mappings_cover_holes_uncached_and_leave_out_what_is_not_the_guests),
        cmocka_unit_test(mappings_up_to_a_limit_below_the_last_region),
        cmocka_unit_test(device_ranges_must_not_touch_ram_or_the_hypervisor),
        cmocka_unit_test(gmem_ptr_checks_every_byte_against_the_ranges),
        cmocka_unit_test(gmem_range_of_many_ranges),
        cmocka_unit_test(cpuid_hides_svm_and_vmx),
        cmocka_unit_test(cpuid_names_the_hypervisor),
        cmocka_unit_test(cpuid_kvm_leaves_only_for_x2apic_handover),
        cmocka_unit_test(cpuid_os_bits_follow_the_guests_cr4),
    };
    return cmocka_run_group_tests_name("physmap_cpuid", tests, NULL, NULL);
}
