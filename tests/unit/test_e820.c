/* UNIT-SOURCES: hv/platform/e820.c hv/lib/fmt.c */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "platform/e820.h"
#include "core/guest_layout.h"
#include "lib/log.h"


static void expect_entry(const struct e820_map *m, unsigned i, u64 addr, u64 size, u32 type)
{
    assert_true(i < m->count);
    assert_int_equal(m->entries[i].addr, addr);
    assert_int_equal(m->entries[i].size, size);
    assert_int_equal(m->entries[i].type, type);
}

static void check_map(u64 ram)
{
    struct e820_map m;
    char err[128] = "";

    assert_int_equal(e820_build_guest(ram, &m, err, sizeof(err)), 0);
    assert_int_equal(m.count, 4);
    expect_entry(&m, 0, 0, 0x9f000, E820_TYPE_RAM);
    expect_entry(&m, 1, 0x9f000, 0x100000 - 0x9f000, E820_TYPE_RESERVED);
    expect_entry(&m, 2, 0x100000, ram - 0x100000 - 0x100000, E820_TYPE_RAM);
    expect_entry(&m, 3, ram - 0x100000, 0x100000, E820_TYPE_NVS);

    /* Contiguous, non-overlapping, ending exactly at ram_size. */
    u64 end = 0;
    for (u32 i = 0; i < m.count; i++) {
        assert_int_equal(m.entries[i].addr, end);
        assert_true(m.entries[i].size > 0);
        end = m.entries[i].addr + m.entries[i].size;
        assert_true(end <= ram);
    }
    assert_int_equal(end, ram);
}

static void test_sizes(void **state)
{
    check_map(MiB(4));
    check_map(MiB(256));
    check_map(GiB(1));
    check_map(GiB(4));
    check_map(GiB(6));
}

static void test_entry_layout(void **state)
{
    /* boot_params.e820_table[i] is 20 bytes: addr at 0, size at 8, type at 16. */
    assert_int_equal(sizeof(struct e820_entry), 20);
    assert_int_equal(offsetof(struct e820_entry, size), 8);
    assert_int_equal(offsetof(struct e820_entry, type), 16);
}

static void test_too_small(void **state)
{
    struct e820_map m;
    char err[128] = "";

    assert_int_equal(e820_build_guest(MiB(2), &m, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "below the minimum"));
    assert_int_equal(m.count, 0);
    assert_int_equal(e820_build_guest(0, &m, err, sizeof(err)), -1);
}

static void test_unaligned(void **state)
{
    struct e820_map m;
    char err[128] = "";

    assert_int_equal(e820_build_guest(MiB(64) + 1, &m, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not page-aligned"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_entry_layout),
        cmocka_unit_test(test_too_small),
        cmocka_unit_test(test_unaligned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
