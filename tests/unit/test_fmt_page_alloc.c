/* UNIT-SOURCES: hv/fmt.c hv/page_alloc.c */
/* The hypervisor's formatter (checked against libc's snprintf) and its page allocator. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "log.h"
#include "page_alloc.h"

#define SAME_AS_LIBC(...)                                                                                          \
    do {                                                                                                           \
        char want[128], got[128];                                                                                  \
        int wn = snprintf(want, sizeof(want), __VA_ARGS__);                                                       \
        int gn = fmt_snprintf(got, sizeof(got), __VA_ARGS__);                                                     \
        assert_string_equal(got, want);                                                                            \
        assert_int_equal(gn, wn);                                                                                  \
    } while (0)

static void formats_like_libc(void **state)
{
    SAME_AS_LIBC("%d %i %u", -42, 7, 3000000000u);
    SAME_AS_LIBC("%x %X %llx", 0xbeefu, 0xbeefu, 0x123456789abcdefull);
    SAME_AS_LIBC("[%5d] [%-5d] [%05d] [%-8s] [%8s]", 42, 42, -42, "ab", "ab");
    SAME_AS_LIBC("%.3s|%.*s|%c|%%", "abcdef", 2, "xyz", 'q');
    SAME_AS_LIBC("%lld %llu %zu %lu", -9223372036854775807ll - 1, 18446744073709551615ull, (size_t)99, 5ul);
    SAME_AS_LIBC("%016llx %hhu %hd", 0xabcull, (unsigned char)200, (short)-5);
    SAME_AS_LIBC("%s", "");
}

static void never_overflows_and_reports_full_length(void **state)
{
    char buf[8];
    memset(buf, 'X', sizeof(buf));
    assert_int_equal(fmt_snprintf(buf, 5, "%s", "abcdefgh"), 8);
    assert_string_equal(buf, "abcd");
    assert_int_equal(buf[5], 'X');
    assert_int_equal(fmt_snprintf(buf, 0, "%d", 12345), 5);
    assert_int_equal(buf[0], 'a');
    assert_int_equal(fmt_snprintf(buf, 1, "%d", 1), 1);
    assert_string_equal(buf, "");
}

/* Deliberately malformed formats: call through a pointer so the compiler's format check stays out. */
static int (*volatile fmt_unchecked)(char *, size_t, const char *, ...) = fmt_snprintf;

static void null_strings_pointers_and_unknown_conversions(void **state)
{
    char buf[64];
    const char *volatile null_string = NULL;
    fmt_unchecked(buf, sizeof(buf), "%s", null_string);
    assert_string_equal(buf, "(null)");
    fmt_snprintf(buf, sizeof(buf), "%p", (void *)0x1234);
    assert_string_equal(buf, "0x0000000000001234");
    fmt_unchecked(buf, sizeof(buf), "a%qb");
    assert_string_equal(buf, "a%qb");
    fmt_unchecked(buf, sizeof(buf), "end%");
    assert_string_equal(buf, "end%");
}

#define POOL_PAGES 64
static void *pool;

static int pool_setup(void **state)
{
    pool = aligned_alloc(4096, POOL_PAGES * 4096);
    memset(pool, 0xa5, POOL_PAGES * 4096);
    page_alloc_init(&hv_pages, (hpa_t)(uintptr_t)pool, POOL_PAGES * 4096);
    return 0;
}

static int pool_teardown(void **state)
{
    free(pool);
    return 0;
}

static void bitmap_is_not_handed_out_and_pages_are_zeroed(void **state)
{
    u64 free0 = page_pool_free_count(&hv_pages);
    hpa_t p = page_alloc(&hv_pages, 2, 1);

    assert_int_equal(free0, POOL_PAGES - 1); /* one bitmap page */
    assert_true(p >= (hpa_t)(uintptr_t)pool + 4096);
    for (int i = 0; i < 2 * 4096; i++)
        assert_int_equal(((u8 *)(uintptr_t)p)[i], 0);
    assert_int_equal(page_pool_free_count(&hv_pages), free0 - 2);
}

static void alignment_and_exhaustion(void **state)
{
    hpa_t a = page_alloc(&hv_pages, 1, 1);
    hpa_t b = page_alloc(&hv_pages, 3, 8);
    assert_true(a && b);
    assert_int_equal((b / 4096) % 8, 0);
    assert_int_equal(page_alloc(&hv_pages, POOL_PAGES, 1), 0);
    while (page_alloc(&hv_pages, 1, 1))
        ;
    assert_int_equal(page_pool_free_count(&hv_pages), 0);
    assert_true(page_free(&hv_pages, a, 1));
    assert_int_equal(page_alloc(&hv_pages, 1, 1), a); /* the freed page comes back */
}

static void bad_frees_are_refused(void **state)
{
    hpa_t a = page_alloc(&hv_pages, 2, 1);
    u64 before;
    assert_true(page_free(&hv_pages, a, 2));
    before = page_pool_free_count(&hv_pages);
    assert_false(page_free(&hv_pages, a, 2));                              /* double free */
    assert_false(page_free(&hv_pages, a + 1, 1));                          /* misaligned */
    assert_false(page_free(&hv_pages, (hpa_t)(uintptr_t)pool, 1));         /* the bitmap */
    assert_false(page_free(&hv_pages, (hpa_t)(uintptr_t)pool + POOL_PAGES * 4096, 1)); /* past the end */
    assert_false(page_free(&hv_pages, a, 0));
    assert_int_equal(page_pool_free_count(&hv_pages), before);
}

static void fragmentation_is_survived(void **state)
{
    hpa_t pages[20];
    for (int i = 0; i < 20; i++)
        pages[i] = page_alloc(&hv_pages, 1, 1);
    for (int i = 0; i < 20; i += 2)
        assert_true(page_free(&hv_pages, pages[i], 1));
    /* no two adjacent free pages among the first 20: a 2-page run must come from beyond them */
    hpa_t run = page_alloc(&hv_pages, 2, 1);
    assert_true(run > pages[19]);
    assert_int_equal(page_alloc(&hv_pages, 1, 1) != 0, 1);
}

static void tiny_pools_hand_out_nothing(void **state)
{
    struct page_pool p;
    page_alloc_init(&p, (hpa_t)(uintptr_t)pool, 4096);
    assert_int_equal(page_pool_free_count(&p), 0);
    assert_int_equal(page_alloc(&p, 1, 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(formats_like_libc),
        cmocka_unit_test(never_overflows_and_reports_full_length),
        cmocka_unit_test(null_strings_pointers_and_unknown_conversions),
        cmocka_unit_test_setup_teardown(bitmap_is_not_handed_out_and_pages_are_zeroed, pool_setup, pool_teardown),
        cmocka_unit_test_setup_teardown(alignment_and_exhaustion, pool_setup, pool_teardown),
        cmocka_unit_test_setup_teardown(bad_frees_are_refused, pool_setup, pool_teardown),
        cmocka_unit_test_setup_teardown(fragmentation_is_survived, pool_setup, pool_teardown),
        cmocka_unit_test_setup_teardown(tiny_pools_hand_out_nothing, pool_setup, pool_teardown),
    };
    return cmocka_run_group_tests_name("fmt_page_alloc", tests, NULL, NULL);
}
