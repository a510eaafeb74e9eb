/* UNIT-SOURCES: hv/platform/e820.c hv/core/guest_physmap.c hv/lib/fmt.c */
/* The guest's e820 map from its physical map (hv/platform/e820.h): types, merging, the limit. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "platform/e820.h"
#include "lib/lib.h"
#include "lib/log.h"

static struct guest_physmap pm;
static struct e820_map m;
static char err[160];

static void expect_entry(unsigned i, u64 addr, u64 size, u32 type)
{
    if (i >= m.count)
        fail_msg("entry %u: only %u entries", i, m.count);
    if (m.entries[i].addr != addr || m.entries[i].size != size || m.entries[i].type != type)
        fail_msg("entry %u: 0x%llx+0x%llx type %u, expected 0x%llx+0x%llx type %u", i,
                 (unsigned long long)m.entries[i].addr, (unsigned long long)m.entries[i].size, m.entries[i].type,
                 (unsigned long long)addr, (unsigned long long)size, type);
}

static void add(u64 base, u64 size, u32 kind) { pm.r[pm.count++] = (struct physmap_region){ base, size, kind }; }

static void every_kind_has_its_type(void **state)
{
    assert_int_equal(e820_type_of(PHYS_RAM), E820_TYPE_RAM);
    assert_int_equal(e820_type_of(PHYS_ACPI), E820_TYPE_ACPI);
    assert_int_equal(e820_type_of(PHYS_NVS), E820_TYPE_NVS);
    assert_int_equal(e820_type_of(PHYS_PMEM), E820_TYPE_PMEM);
    assert_int_equal(e820_type_of(PHYS_UNUSABLE), E820_TYPE_UNUSABLE);
    assert_int_equal(e820_type_of(PHYS_FIRMWARE), E820_TYPE_RESERVED);
    assert_int_equal(e820_type_of(PHYS_MMIO), E820_TYPE_RESERVED);
    assert_int_equal(e820_type_of(PHYS_CAPPED), E820_TYPE_RESERVED);
    assert_int_equal(e820_type_of(PHYS_HV), E820_TYPE_RESERVED);
    assert_int_equal(e820_type_of(0), 0);
    assert_int_equal(e820_type_of(99), 0);
}

/* A machine's map through physmap_build: holes are not listed, the hypervisor's pages and RAM
 * beyond the cap are reserved, and reserved neighbours merge into one entry. */
static void the_machines_map_with_the_hypervisor_reserved(void **state)
{
    static const struct boot_mem_region fw[] = {
        { 0, 0x9f000, BOOT_MEM_FREE, 7 },
        { 0x9f000, 0x1000, BOOT_MEM_RESERVED, 0 },
        { 0x100000, MiB(255), BOOT_MEM_FREE, 7 },
        { MiB(256), MiB(1), BOOT_MEM_ACPI, 9 },
        { MiB(257), MiB(1), BOOT_MEM_NVS, 10 },
        { MiB(258), MiB(254), BOOT_MEM_FREE, 7 },
        { 0xb0000000, MiB(256), BOOT_MEM_RESERVED, 0 },
        { 0xc0000000, PAGE_SIZE, BOOT_MEM_UNUSABLE, 8 },
        { GiB(4), GiB(2), BOOT_MEM_FREE, 7 },
        { GiB(6), GiB(1), BOOT_MEM_PMEM, 14 },
    };
    static const struct phys_range hv[] = { { MiB(32), MiB(8) }, { MiB(510), MiB(2) } };

    assert_int_equal(physmap_build(fw, ARRAY_SIZE(fw), hv, 2, GiB(1), &pm, err, sizeof(err)), 0);
    assert_int_equal(e820_build_guest(&pm, &m, err, sizeof(err)), 0);
    u32 i = 0;
    expect_entry(i++, 0, 0x9f000, E820_TYPE_RAM);
    expect_entry(i++, 0x9f000, 0x1000, E820_TYPE_RESERVED);
    expect_entry(i++, 0x100000, MiB(31), E820_TYPE_RAM);
    expect_entry(i++, MiB(32), MiB(8), E820_TYPE_RESERVED); /* the hypervisor's */
    expect_entry(i++, MiB(40), MiB(216), E820_TYPE_RAM);
    expect_entry(i++, MiB(256), MiB(1), E820_TYPE_ACPI);
    expect_entry(i++, MiB(257), MiB(1), E820_TYPE_NVS);
    expect_entry(i++, MiB(258), MiB(252), E820_TYPE_RAM);
    expect_entry(i++, MiB(510), MiB(2), E820_TYPE_RESERVED);
    expect_entry(i++, 0xb0000000, MiB(256), E820_TYPE_RESERVED);
    expect_entry(i++, 0xc0000000, PAGE_SIZE, E820_TYPE_UNUSABLE);
    u64 low = 0x9f000 + MiB(31) + MiB(216) + MiB(252);
    expect_entry(i++, GiB(4), GiB(1) - low, E820_TYPE_RAM);
    expect_entry(i++, GiB(4) + GiB(1) - low, GiB(2) - (GiB(1) - low), E820_TYPE_RESERVED); /* capped */
    expect_entry(i++, GiB(6), GiB(1), E820_TYPE_PMEM);
    assert_int_equal(m.count, i);
    /* sorted and disjoint */
    for (u32 k = 1; k < m.count; k++)
        assert_true(m.entries[k - 1].addr + m.entries[k - 1].size <= m.entries[k].addr);
}

static void neighbours_merge_only_with_the_same_type(void **state)
{
    memset(&pm, 0, sizeof(pm));
    add(0, MiB(1), PHYS_RAM);
    add(MiB(1), MiB(1), PHYS_FIRMWARE); /* firmware, MMIO, capped, hypervisor: one reserved entry */
    add(MiB(2), MiB(1), PHYS_MMIO);
    add(MiB(3), MiB(1), PHYS_CAPPED);
    add(MiB(4), MiB(1), PHYS_HV);
    add(MiB(5), MiB(1), PHYS_RAM);
    add(MiB(7), MiB(1), PHYS_RAM); /* a hole before it: not merged */
    add(MiB(8), MiB(1), PHYS_ACPI);
    add(MiB(9), MiB(1), PHYS_NVS); /* ACPI and NVS stay apart */
    add(MiB(10), MiB(1), PHYS_FIRMWARE);
    add(MiB(12), MiB(1), PHYS_FIRMWARE); /* reserved across a hole: not merged either */
    assert_int_equal(e820_build_guest(&pm, &m, err, sizeof(err)), 0);
    u32 i = 0;
    expect_entry(i++, 0, MiB(1), E820_TYPE_RAM);
    expect_entry(i++, MiB(1), MiB(4), E820_TYPE_RESERVED);
    expect_entry(i++, MiB(5), MiB(1), E820_TYPE_RAM);
    expect_entry(i++, MiB(7), MiB(1), E820_TYPE_RAM);
    expect_entry(i++, MiB(8), MiB(1), E820_TYPE_ACPI);
    expect_entry(i++, MiB(9), MiB(1), E820_TYPE_NVS);
    expect_entry(i++, MiB(10), MiB(1), E820_TYPE_RESERVED);
    expect_entry(i++, MiB(12), MiB(1), E820_TYPE_RESERVED);
    assert_int_equal(m.count, i);

    memset(&pm, 0, sizeof(pm));
    assert_int_equal(e820_build_guest(&pm, &m, err, sizeof(err)), 0);
    assert_int_equal(m.count, 0);
}

/* 128 entries fit in boot_params, up to E820_MAX_ENTRIES with setup_data: a map that needs more
 * is refused, not cut short. */
static void more_than_the_maximum_entries_are_refused(void **state)
{
    memset(&pm, 0, sizeof(pm));
    for (u32 i = 0; i < E820_MAX_ENTRIES; i++)
        add((u64)i * MiB(1), MiB(1), i % 2 ? PHYS_NVS : PHYS_RAM);
    assert_int_equal(e820_build_guest(&pm, &m, err, sizeof(err)), 0);
    assert_int_equal(m.count, E820_MAX_ENTRIES);
    expect_entry(E820_MAX_ENTRIES - 1, (E820_MAX_ENTRIES - 1) * MiB(1), MiB(1), E820_TYPE_NVS);

    add(E820_MAX_ENTRIES * MiB(1), MiB(1), PHYS_RAM);
    err[0] = 0;
    assert_int_equal(e820_build_guest(&pm, &m, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "more than 1024 entries"));

    /* many regions that merge into few entries are fine */
    memset(&pm, 0, sizeof(pm));
    for (u32 i = 0; i < 300; i++)
        add((u64)i * MiB(1), MiB(1), i % 2 ? PHYS_MMIO : PHYS_HV);
    assert_int_equal(e820_build_guest(&pm, &m, err, sizeof(err)), 0);
    assert_int_equal(m.count, 1);
    expect_entry(0, 0, MiB(300), E820_TYPE_RESERVED);
}

static void test_entry_layout(void **state)
{
    /* boot_params.e820_table[i] is 20 bytes: addr at 0, size at 8, type at 16. */
    assert_int_equal(sizeof(struct e820_entry), 20);
    assert_int_equal(offsetof(struct e820_entry, size), 8);
    assert_int_equal(offsetof(struct e820_entry, type), 16);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_kind_has_its_type),
        cmocka_unit_test(the_machines_map_with_the_hypervisor_reserved),
        cmocka_unit_test(neighbours_merge_only_with_the_same_type),
        cmocka_unit_test(more_than_the_maximum_entries_are_refused),
        cmocka_unit_test(test_entry_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
