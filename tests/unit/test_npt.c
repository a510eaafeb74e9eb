/* UNIT-SOURCES: hv/core/npt.c arch/x86_64/vmx/ept.c */
/* The nested page-table builder: large and 1 GiB pages where aligned, splits, unmap, lookups. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "host_pages.h"

#include "core/npt.h"
#include "arch/x86_64/vmx/ept.h"

static hpa_t alloc_none(void) { return 0; }


static void maps_guest_ram_with_large_pages(void **state)
{
    struct npt n;
    hpa_t hpa;
    u32 perms;
    int level;

    assert_true(npt_init(&n, &npt_format_x86, alloc_page));
    assert_true(npt_map(&n, 0, GiB(1), MiB(256), NPT_RWX));
    /* root + PDPT + one PD: 128 2-MiB pages need no page tables */
    assert_int_equal(n.tables, 3);
    assert_true(npt_lookup(&n, 0x1234567, &hpa, &perms, &level));
    assert_int_equal(hpa, GiB(1) + 0x1234567);
    assert_int_equal(level, 2);
    assert_true(perms & NPT_WRITE);
    assert_false(npt_lookup(&n, MiB(256), NULL, NULL, NULL));
}

static void unaligned_ranges_use_small_pages(void **state)
{
    struct npt n;
    hpa_t hpa;
    int level;

    assert_true(npt_init(&n, &npt_format_x86, alloc_page));
    /* host address not 2 MiB aligned: every entry must be 4 KiB */
    assert_true(npt_map(&n, 0, GiB(1) + 0x1000, MiB(4), NPT_RWX));
    assert_true(npt_lookup(&n, MiB(3) + 5, &hpa, NULL, &level));
    assert_int_equal(level, 1);
    assert_int_equal(hpa, GiB(1) + 0x1000 + MiB(3) + 5);
}

static void splitting_a_large_page_keeps_the_rest(void **state)
{
    struct npt n;
    hpa_t hpa;
    u32 perms;
    int level;

    assert_true(npt_init(&n, &npt_format_x86, alloc_page));
    assert_true(npt_map(&n, 0, GiB(2), MiB(4), NPT_RWX));
    /* write-protect one 4 KiB page inside the first large page */
    assert_true(npt_map(&n, 0x5000, GiB(2) + 0x5000, 0x1000, NPT_READ | NPT_EXEC));
    assert_true(npt_lookup(&n, 0x5000, &hpa, &perms, &level));
    assert_int_equal(level, 1);
    assert_false(perms & NPT_WRITE);
    assert_true(npt_lookup(&n, 0x6000, &hpa, &perms, &level));
    assert_int_equal(hpa, GiB(2) + 0x6000);
    assert_true(perms & NPT_WRITE);
    /* the second large page is untouched */
    assert_true(npt_lookup(&n, MiB(3), &hpa, NULL, &level));
    assert_int_equal(level, 2);
}

static void unmap_removes_only_the_range(void **state)
{
    struct npt n;

    assert_true(npt_init(&n, &npt_format_x86, alloc_page));
    assert_true(npt_map(&n, 0, GiB(1), MiB(2), NPT_RWX));
    assert_true(npt_unmap(&n, 0x3000, 0x2000));
    assert_false(npt_lookup(&n, 0x3000, NULL, NULL, NULL));
    assert_false(npt_lookup(&n, 0x4fff, NULL, NULL, NULL));
    assert_true(npt_lookup(&n, 0x2fff, NULL, NULL, NULL));
    assert_true(npt_lookup(&n, 0x5000, NULL, NULL, NULL));
    /* unmapping something never mapped is fine and allocates nothing */
    u64 before = n.tables;
    assert_true(npt_unmap(&n, GiB(100), MiB(2)));
    assert_int_equal(n.tables, before);
}

static void rejects_misaligned_and_wrapping_ranges(void **state)
{
    struct npt n;

    assert_true(npt_init(&n, &npt_format_x86, alloc_page));
    assert_false(npt_map(&n, 0x10, GiB(1), 0x1000, NPT_RWX));
    assert_false(npt_map(&n, 0, GiB(1), 0x800, NPT_RWX));
    assert_false(npt_map(&n, ~0xfffull, GiB(1), 0x2000, NPT_RWX));
}

static void out_of_memory_is_reported(void **state)
{
    struct npt n;

    assert_false(npt_init(&n, &npt_format_x86, alloc_none));
    assert_true(npt_init(&n, &npt_format_x86, alloc_page));
    n.alloc_table = alloc_none;
    assert_false(npt_map(&n, 0, GiB(1), MiB(2), NPT_RWX));
}

static void x86_entries_have_user_bit_and_uncached_device_memory(void **state)
{
    u64 e = npt_format_x86.leaf_entry(0xfee00000, 1, NPT_READ | NPT_WRITE | NPT_UNCACHED);
    assert_true(e & BIT(2));  /* U: nested walks are user accesses */
    assert_true(e & BIT(4));  /* PCD */
    assert_false(e & BIT(7)); /* no PS at level 1 */
    assert_true(npt_format_x86.table_entry(0x5000, 2) & BIT(2));
    e = npt_format_x86.leaf_entry(MiB(4), 2, NPT_READ);
    assert_true(e & BIT(7));
    assert_false(e & BIT(1));
}

/* Two views: a BAR range mapped differently, everything else shared (edits made once are seen
 * by both), and the original tree unchanged by the fork except for splitting. */
static void fork_gives_a_private_range_and_shares_the_rest(void **state)
{
    struct npt a, b = { 0 };
    hpa_t hpa;
    u32 perms;
    int level;
    u64 tables_before;

    assert_true(npt_init(&a, &npt_format_x86, alloc_page));
    assert_true(npt_map(&a, 0, GiB(2), GiB(1), NPT_RWX));
    assert_true(npt_map(&a, 0xfe000000, 0xfe000000, MiB(16), NPT_READ | NPT_WRITE | NPT_UNCACHED));
    assert_true(npt_fork(&b, &a, 0xfeb80000, 0x20000));
    tables_before = b.tables;
    /* privileged view: the real BAR; unprivileged: a zero page, read-only */
    assert_true(npt_map(&a, 0xfeb80000, 0x7000000, 0x20000, NPT_READ));
    assert_true(npt_lookup(&b, 0xfeb81000, &hpa, &perms, &level));
    assert_int_equal(hpa, 0xfeb81000);
    assert_int_equal(level, 1);
    assert_true(npt_lookup(&a, 0xfeb81000, &hpa, &perms, &level));
    assert_int_equal(hpa, 0x7001000);
    assert_int_equal(perms & NPT_WRITE, 0);
    /* neighbours of the range are the same in both */
    assert_true(npt_lookup(&b, 0xfeba0000, &hpa, NULL, NULL));
    assert_int_equal(hpa, 0xfeba0000);
    /* RAM is shared: a split made through one view shows in the other */
    assert_true(npt_map(&a, 0x200000, GiB(2) + 0x200000, 0x1000, NPT_READ | NPT_EXEC));
    assert_true(npt_lookup(&b, 0x200000, &hpa, &perms, &level));
    assert_int_equal(level, 1);
    assert_int_equal(perms & NPT_WRITE, 0);
    assert_true(npt_map(&b, 0x200000, GiB(2) + 0x200000, 0x1000, NPT_READ | NPT_EXEC)); /* idempotent */
    assert_int_equal(b.tables, tables_before);
    /* forking again into the same view copies nothing new */
    assert_true(npt_fork(&b, &a, 0xfeb80000, 0x20000));
    assert_int_equal(b.tables, tables_before);
    assert_false(npt_fork(&b, &a, 0xfeb80001, 0x1000));
}

static int freed;
static void count_free(hpa_t t) { freed++; }

/* Border views: exec-only (the module's text pages and nothing else) and its complement. */
static void exec_views_differ_only_in_execution(void **state)
{
    static const gpa_t text[] = { 0x1234000, 0x1235000, 0x5000000 };
    struct npt a, in = { 0 }, out = { 0 };
    hpa_t hpa;
    u32 perms;

    npt_x86_nx = true;
    assert_true(npt_init(&a, &npt_format_x86, alloc_page));
    assert_true(npt_map(&a, 0, GiB(2), GiB(1), NPT_RWX));
    assert_true(npt_map(&a, 0xfe000000, 0xfe000000, MiB(16), NPT_READ | NPT_WRITE | NPT_UNCACHED));
    assert_false(npt_executable(&a, 0xfe000000)); /* device memory never executes */
    assert_true(npt_fork_exec(&in, &a, text, 3, true));
    assert_true(npt_fork_exec(&out, &a, text, 3, false));
    for (int i = 0; i < 3; i++) {
        assert_true(npt_executable(&a, text[i]));
        assert_true(npt_executable(&in, text[i]));
        assert_false(npt_executable(&out, text[i]));
        assert_true(npt_lookup(&out, text[i], &hpa, &perms, NULL));
        assert_int_equal(hpa, GiB(2) + text[i]);
        assert_true(perms & NPT_WRITE);
    }
    /* neighbours in the same table, the same 1 GiB, and far away */
    static const gpa_t others[] = { 0x1233000, 0x1236000, 0x1400000, 0x5001000, 0x3ffff000, 0 };
    for (int i = 0; i < 6; i++) {
        assert_true(npt_executable(&a, others[i]));
        assert_false(npt_executable(&in, others[i]));
        assert_true(npt_executable(&out, others[i]));
        assert_true(npt_lookup(&in, others[i], &hpa, &perms, NULL)); /* still readable and writable */
        assert_int_equal(hpa, GiB(2) + others[i]);
        assert_true(perms & NPT_WRITE);
    }
    /* a second view needs an empty one; misaligned pages are refused */
    assert_false(npt_fork_exec(&in, &a, text, 3, true));
    struct npt bad = { 0 };
    static const gpa_t odd[] = { 0x1234001 };
    assert_false(npt_fork_exec(&bad, &a, odd, 1, true));
    /* releasing frees exactly the view's own tables and leaves src whole */
    u64 own = in.tables;
    freed = 0;
    npt_release_view(&in, &a, count_free);
    assert_int_equal(freed, own);
    assert_int_equal(in.root, 0);
    assert_true(npt_executable(&a, text[0]) && npt_executable(&a, others[1]));
    npt_x86_nx = false;
}

/* A 3-level walk (39-bit, as VT-d with SAGAW 39 needs) covers 512 GiB and no more. */
static u64 three_table(hpa_t next, int level) { return next | 3; }
static u64 three_leaf(hpa_t pa, int level, u32 perms) { return pa | (perms & 3) | (level > 1 ? BIT(7) : 0); }
static bool three_present(u64 e) { return e & 3; }
static bool three_is_leaf(u64 e, int level) { return level == 1 || (e & BIT(7)); }
static hpa_t three_address(u64 e, int level)
{
    return e & 0x000ffffffffff000ull & ~(level > 1 && (e & BIT(7)) ? (1ull << (12 + 9 * (level - 1))) - 1 : 0);
}
static u32 three_perms(u64 e) { return e & 3; }
static const struct npt_format three_levels = {
    .name = "test 3-level",
    .levels = 3,
    .large_pages = false,
    .table_entry = three_table,
    .leaf_entry = three_leaf,
    .present = three_present,
    .is_leaf = three_is_leaf,
    .address = three_address,
    .perms = three_perms,
};

static void three_level_format_without_large_pages(void **state)
{
    struct npt n;
    hpa_t hpa;
    int level;

    assert_true(npt_init(&n, &three_levels, alloc_page));
    assert_int_equal(npt_limit(&n), GiB(512));
    assert_true(npt_map(&n, 0, GiB(4), MiB(4), NPT_READ | NPT_WRITE));
    assert_true(npt_lookup(&n, MiB(3) + 0x123, &hpa, NULL, &level));
    assert_int_equal(hpa, GiB(4) + MiB(3) + 0x123);
    assert_int_equal(level, 1); /* no large pages in this format */
    assert_false(npt_map(&n, GiB(512) - 0x1000, 0, 0x2000, NPT_READ));
    assert_false(npt_lookup(&n, GiB(512), &hpa, NULL, NULL));
}

/* ---------------------------------------------------------------- 1 GiB leaves */
/* The formats with 1 GiB leaves: AMD's NPT (CPUID Page1GB) and EPT (IA32_VMX_EPT_VPID_CAP bit 17). */
static const struct npt_format *const huge_formats[] = { &npt_format_x86_1g, &npt_format_ept_1g };

static void expect_counts(const struct npt *n, u64 k4, u64 m2, u64 g1)
{
    u64 c[3];
    npt_count_leaves(n, c);
    if (c[0] != k4 || c[1] != m2 || c[2] != g1)
        fail_msg("%s: leaves %llu x 4 KiB, %llu x 2 MiB, %llu x 1 GiB; expected %llu, %llu, %llu", n->fmt->name,
                 (unsigned long long)c[0], (unsigned long long)c[1], (unsigned long long)c[2], (unsigned long long)k4,
                 (unsigned long long)m2, (unsigned long long)g1);
}

/* Every 4 KiB page of [base, base+size) except `except` maps to itself + delta with perms. */
static void expect_same(const struct npt *n, u64 base, u64 size, u64 delta, u32 perms, gpa_t except)
{
    for (u64 a = base; a < base + size; a += PAGE_SIZE) {
        hpa_t hpa;
        u32 p;
        if (a == except)
            continue;
        if (!npt_lookup(n, a + 0x123, &hpa, &p, NULL) || hpa != a + delta + 0x123 || p != perms)
            fail_msg("%s: 0x%llx maps to 0x%llx perms %x, expected 0x%llx perms %x", n->fmt->name,
                     (unsigned long long)a, (unsigned long long)hpa, p, (unsigned long long)(a + delta), perms);
    }
}

static int leaf_level(const struct npt *n, gpa_t gpa)
{
    int level = 0;
    assert_true(npt_lookup(n, gpa, NULL, NULL, &level));
    return level;
}

static void huge_pages_where_aligned(void **state)
{
    for (unsigned f = 0; f < ARRAY_SIZE(huge_formats); f++) {
        struct npt n;
        teardown(NULL);
        assert_true(npt_init(&n, huge_formats[f], alloc_page));
        /* 3 GiB + 4 MiB + 8 KiB from 0: 3 x 1 GiB, 2 x 2 MiB, 2 x 4 KiB */
        assert_true(npt_map(&n, 0, 0, GiB(3) + MiB(4) + 0x2000, NPT_RWX));
        expect_counts(&n, 2, 2, 3);
        assert_int_equal(n.tables, 4); /* root, PDPT, one PD, one PT */
        assert_int_equal(leaf_level(&n, GiB(1) + 5), 3);
        assert_int_equal(leaf_level(&n, GiB(3) + MiB(1)), 2);
        assert_int_equal(leaf_level(&n, GiB(3) + MiB(4) + 0x1000), 1);
        hpa_t hpa;
        assert_true(npt_lookup(&n, GiB(2) + 0x12345678, &hpa, NULL, NULL));
        assert_int_equal(hpa, GiB(2) + 0x12345678);
        assert_false(npt_lookup(&n, GiB(3) + MiB(4) + 0x2000, NULL, NULL, NULL));

        /* from a 2 MiB boundary: 2 MiB leaves up to the first GiB, then a 1 GiB leaf */
        teardown(NULL);
        assert_true(npt_init(&n, huge_formats[f], alloc_page));
        assert_true(npt_map(&n, MiB(2), MiB(2), GiB(2), NPT_RWX));
        expect_counts(&n, 0, 511 + 1, 1);
        /* the host address not 1 GiB aligned: no 1 GiB leaf even where the guest's is */
        teardown(NULL);
        assert_true(npt_init(&n, huge_formats[f], alloc_page));
        assert_true(npt_map(&n, GiB(1), GiB(1) + MiB(2), GiB(1), NPT_RWX));
        expect_counts(&n, 0, 512, 0);
        /* above 512 GiB (a 64-bit BAR): the walk's other PML4 entries */
        assert_true(npt_map(&n, GiB(1024), GiB(1024), GiB(2), NPT_RWX | NPT_UNCACHED));
        expect_counts(&n, 0, 512, 2);
        assert_int_equal(leaf_level(&n, GiB(1025) + 7), 3);
    }
    /* a format without them never makes one */
    struct npt n;
    teardown(NULL);
    assert_true(npt_init(&n, &npt_format_x86, alloc_page));
    assert_true(npt_map(&n, 0, 0, GiB(2), NPT_RWX));
    expect_counts(&n, 0, 1024, 0);
}

/* Changing one 4 KiB page inside a 1 GiB leaf splits it (1 GiB → 2 MiB → 4 KiB); every other
 * address of that GiB keeps its mapping and its permissions (uncached included), the other
 * GiBs keep their 1 GiB leaves. */
static void splitting_a_huge_page_keeps_everything_else(void **state)
{
    for (unsigned f = 0; f < ARRAY_SIZE(huge_formats); f++) {
        struct npt n;
        const gpa_t page = GiB(1) + MiB(300) + 0x5000;
        teardown(NULL);
        assert_true(npt_init(&n, huge_formats[f], alloc_page));
        assert_true(npt_map(&n, 0, 0, GiB(2), NPT_RWX));
        assert_true(npt_map(&n, GiB(2), GiB(2), GiB(1), NPT_RWX | NPT_UNCACHED));

        /* npt_map: read-only */
        assert_true(npt_map(&n, page, page, PAGE_SIZE, NPT_READ));
        u32 perms;
        hpa_t hpa;
        assert_true(npt_lookup(&n, page, &hpa, &perms, NULL));
        assert_int_equal(hpa, page);
        assert_int_equal(perms & (NPT_READ | NPT_WRITE), NPT_READ); /* X as the format can (x86 without NX: always) */
        expect_same(&n, GiB(1), GiB(1), 0, NPT_RWX, page);
        expect_counts(&n, 512, 511, 2);
        assert_int_equal(leaf_level(&n, page + PAGE_SIZE), 1);
        assert_int_equal(leaf_level(&n, GiB(1)), 2);
        assert_int_equal(leaf_level(&n, 0), 3);

        /* npt_unmap in the uncached GiB */
        const gpa_t hole = GiB(2) + GiB(1) - PAGE_SIZE;
        assert_true(npt_unmap(&n, hole, PAGE_SIZE));
        assert_false(npt_lookup(&n, hole, NULL, NULL, NULL));
        expect_same(&n, GiB(2), GiB(1), 0, NPT_RWX | NPT_UNCACHED, hole);
        expect_counts(&n, 512 + 511, 511 + 511, 1);

        /* the whole GiB mapped again at once: a 1 GiB leaf again */
        assert_true(npt_map(&n, GiB(1), GiB(1), GiB(1), NPT_RWX));
        assert_int_equal(leaf_level(&n, page), 3);
        expect_counts(&n, 511, 511, 2);
        /* and unmapped at once: no table needed */
        u64 tables = n.tables;
        assert_true(npt_unmap(&n, GiB(1), GiB(1)));
        assert_false(npt_lookup(&n, page, NULL, NULL, NULL));
        assert_int_equal(n.tables, tables);
        expect_counts(&n, 511, 511, 1);
    }
}

/* A 2 MiB-aligned change splits a 1 GiB leaf into 2 MiB leaves only (one table). */
static void a_large_change_splits_a_huge_page_once(void **state)
{
    struct npt n;
    assert_true(npt_init(&n, &npt_format_x86_1g, alloc_page));
    assert_true(npt_map(&n, 0, 0, GiB(1), NPT_RWX));
    u64 tables = n.tables;
    assert_true(npt_map(&n, MiB(2), MiB(2), MiB(2), NPT_READ));
    assert_int_equal(n.tables, tables + 1);
    expect_counts(&n, 0, 512, 0);
    assert_int_equal(leaf_level(&n, MiB(3)), 2);
    expect_same(&n, MiB(4), MiB(64), 0, NPT_RWX, 0);

    /* out of table pages: the 1 GiB leaf stays whole and untouched */
    assert_true(npt_map(&n, GiB(1), GiB(1), GiB(1), NPT_RWX));
    n.alloc_table = alloc_none;
    assert_false(npt_map(&n, GiB(1) + 0x1000, GiB(1) + 0x1000, PAGE_SIZE, NPT_READ));
    assert_int_equal(leaf_level(&n, GiB(1) + 0x1000), 3);
    expect_counts(&n, 0, 512, 1);
}

/* npt_fork of a page inside a 1 GiB leaf: src is split with identical contents, dst differs at
 * the page alone. */
static void fork_splits_a_huge_page_identically(void **state)
{
    for (unsigned f = 0; f < ARRAY_SIZE(huge_formats); f++) {
        struct npt a, b = { 0 };
        const gpa_t bar = GiB(3) + MiB(7) + 0x3000;
        teardown(NULL);
        assert_true(npt_init(&a, huge_formats[f], alloc_page));
        assert_true(npt_map(&a, 0, 0, GiB(4), NPT_RWX | NPT_UNCACHED));
        assert_true(npt_fork(&b, &a, bar, PAGE_SIZE));
        expect_counts(&a, 512, 511, 3);
        assert_true(npt_map(&a, bar, 0x7000000, PAGE_SIZE, NPT_READ)); /* the ordinary view: a stand-in */
        hpa_t hpa;
        assert_true(npt_lookup(&b, bar, &hpa, NULL, NULL));
        assert_int_equal(hpa, bar);
        assert_true(npt_lookup(&a, bar, &hpa, NULL, NULL));
        assert_int_equal(hpa, 0x7000000);
        expect_same(&a, GiB(3), GiB(1), 0, NPT_RWX | NPT_UNCACHED, bar);
        expect_same(&b, GiB(3), GiB(1), 0, NPT_RWX | NPT_UNCACHED, bar);
        assert_int_equal(leaf_level(&b, 0), 3);
        assert_int_equal(leaf_level(&b, GiB(2) + 5), 3);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(maps_guest_ram_with_large_pages, teardown),
        cmocka_unit_test_teardown(unaligned_ranges_use_small_pages, teardown),
        cmocka_unit_test_teardown(splitting_a_large_page_keeps_the_rest, teardown),
        cmocka_unit_test_teardown(unmap_removes_only_the_range, teardown),
        cmocka_unit_test_teardown(rejects_misaligned_and_wrapping_ranges, teardown),
        cmocka_unit_test_teardown(out_of_memory_is_reported, teardown),
        cmocka_unit_test(x86_entries_have_user_bit_and_uncached_device_memory),
        cmocka_unit_test_teardown(fork_gives_a_private_range_and_shares_the_rest, teardown),
        cmocka_unit_test_teardown(three_level_format_without_large_pages, teardown),
        cmocka_unit_test_teardown(exec_views_differ_only_in_execution, teardown),
        cmocka_unit_test_teardown(huge_pages_where_aligned, teardown),
        cmocka_unit_test_teardown(splitting_a_huge_page_keeps_everything_else, teardown),
        cmocka_unit_test_teardown(a_large_change_splits_a_huge_page_once, teardown),
        cmocka_unit_test_teardown(fork_splits_a_huge_page_identically, teardown),
    };
    return cmocka_run_group_tests_name("npt", tests, NULL, NULL);
}
