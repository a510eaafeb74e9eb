/* UNIT-SOURCES: hv/core/npt.c */
/* The nested page-table builder: large pages where aligned, splits, unmap, lookups. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "host_pages.h"

#include "core/npt.h"

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
    };
    return cmocka_run_group_tests_name("npt", tests, NULL, NULL);
}
