/* UNIT-SOURCES: hv/lib/page_alloc.c */
/* The hypervisor's page allocator over a malloc'd region: the "physical" address is the pointer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/page_alloc.h"

#define PG         4096u
#define POOL_PAGES 64 /* one bitmap page + 63 usable */

static u8 *pool;
static struct page_pool pp;

static hpa_t pa_of(const void *p) { return (hpa_t)(uintptr_t)p; }
static hpa_t pool_pa(u64 page) { return pa_of(pool) + page * PG; }

static int setup(void **state)
{
    /* 64 pages aligned to 64 pages, so alignment tests know where aligned pages fall */
    pool = aligned_alloc(POOL_PAGES * PG, POOL_PAGES * PG);
    assert_non_null(pool);
    memset(pool, 0xa5, POOL_PAGES * PG);
    page_alloc_init(&pp, pa_of(pool), POOL_PAGES * PG);
    return 0;
}

static int teardown(void **state)
{
    free(pool);
    return 0;
}

static bool all_bytes(hpa_t pa, u64 len, u8 v)
{
    for (u64 i = 0; i < len; i++)
        if (((u8 *)(uintptr_t)pa)[i] != v)
            return false;
    return true;
}

static void bitmap_is_not_handed_out(void **state)
{
    hpa_t got[POOL_PAGES];
    int n = 0;

    assert_int_equal(page_pool_free_count(&pp), POOL_PAGES - 1);
    while ((got[n] = page_alloc(&pp, 1, 1)) != 0)
        n++;
    assert_int_equal(n, POOL_PAGES - 1);
    for (int i = 0; i < n; i++) {
        assert_true(got[i] >= pool_pa(1) && got[i] < pool_pa(POOL_PAGES)); /* never page 0, the bitmap */
        assert_int_equal(got[i] % PG, 0);
        for (int j = 0; j < i; j++)
            assert_true(got[i] != got[j]);
    }
    /* zero-filling the pages did not wipe the bitmap: it still knows they are all taken */
    assert_int_equal(page_pool_free_count(&pp), 0);
    assert_false(page_free(&pp, pool_pa(0), 1));
}

static void pages_are_zero_filled(void **state)
{
    hpa_t a = page_alloc(&pp, 3, 1);

    assert_true(a != 0);
    assert_true(all_bytes(a, 3 * PG, 0));
    memset((void *)(uintptr_t)a, 0xff, 3 * PG); /* dirty them, give them back, get them again */
    assert_true(page_free(&pp, a, 3));
    a = page_alloc(&pp, 63, 1);
    assert_true(a != 0);
    assert_true(all_bytes(a, 63 * PG, 0));
    assert_int_equal(page_pool_free_count(&pp), 0);
}

static void alignment(void **state)
{
    hpa_t one = page_alloc(&pp, 1, 1); /* page 1: knocks the first aligned candidates off */
    hpa_t a8 = page_alloc(&pp, 3, 8);
    hpa_t a16 = page_alloc(&pp, 16, 16);
    hpa_t a3;

    assert_int_equal(one, pool_pa(1));
    assert_int_equal(a8, pool_pa(8));
    assert_int_equal(a16, pool_pa(16));
    /* 32 pages aligned to 32: only page 32 qualifies in a 64-page pool, and 32..63 are free */
    assert_int_equal(page_alloc(&pp, 32, 32), pool_pa(32));
    /* not a power of two: a physical multiple of 3 pages, from the hole at pages 2..7 */
    a3 = page_alloc(&pp, 1, 3);
    assert_int_equal((a3 / PG) % 3, 0);
    assert_true(a3 >= pool_pa(2) && a3 <= pool_pa(4));
    /* no 64-aligned page left at all (page 0 is the bitmap) */
    assert_int_equal(page_alloc(&pp, 1, 64), 0);
    /* absurd alignments fail cleanly instead of wrapping */
    assert_int_equal(page_alloc(&pp, 1, UINT64_MAX), 0);
    assert_int_equal(page_alloc(&pp, 1, 1ull << 63), 0);
    assert_int_equal(page_alloc(&pp, 1, 0), 0);
}

static void exhaustion(void **state)
{
    u64 before;

    assert_int_equal(page_alloc(&pp, POOL_PAGES, 1), 0); /* more than there is */
    assert_int_equal(page_alloc(&pp, UINT64_MAX, 1), 0);
    assert_int_equal(page_alloc(&pp, 0, 1), 0);
    assert_int_equal(page_pool_free_count(&pp), POOL_PAGES - 1);
    assert_int_equal(page_alloc(&pp, POOL_PAGES - 1, 1), pool_pa(1)); /* exactly all of it */
    before = page_pool_free_count(&pp);
    assert_int_equal(before, 0);
    assert_int_equal(page_alloc(&pp, 1, 1), 0);
    assert_true(page_free(&pp, pool_pa(40), 1));
    assert_int_equal(page_alloc(&pp, 1, 1), pool_pa(40)); /* the freed page comes back */
}

static void fragmentation(void **state)
{
    hpa_t pages[POOL_PAGES - 1];

    for (int i = 0; i < POOL_PAGES - 1; i++)
        pages[i] = page_alloc(&pp, 1, 1);
    for (int i = 0; i < POOL_PAGES - 1; i += 2)
        assert_true(page_free(&pp, pages[i], 1));
    /* 32 pages free, but no two adjacent */
    assert_int_equal(page_pool_free_count(&pp), 32);
    assert_int_equal(page_alloc(&pp, 2, 1), 0);
    assert_int_equal(page_pool_free_count(&pp), 32);
    /* free one more: pages 1..3 are now a run of 3 */
    assert_true(page_free(&pp, pages[1], 1));
    assert_int_equal(page_alloc(&pp, 3, 1), pool_pa(1));
    /* the next-fit hint wraps around to find holes behind it */
    assert_int_equal(page_alloc(&pp, 1, 1), pages[4]);
    assert_int_equal(page_alloc(&pp, 1, 1), pages[6]);
}

static void double_free_is_detected(void **state)
{
    hpa_t a = page_alloc(&pp, 4, 1), b = page_alloc(&pp, 1, 1);
    u64 before;

    assert_true(page_free(&pp, a, 4));
    before = page_pool_free_count(&pp);
    assert_false(page_free(&pp, a, 4));      /* whole range again */
    assert_false(page_free(&pp, a + PG, 1)); /* one page of it */
    assert_false(page_free(&pp, b - PG, 2)); /* partly freed, partly live: refused as a whole */
    assert_int_equal(page_pool_free_count(&pp), before);
    assert_true(page_free(&pp, b, 1)); /* ...and b was left allocated by that refusal */
    assert_false(page_free(&pp, b, 1));
    assert_int_equal(page_pool_free_count(&pp), POOL_PAGES - 1);
}

static void frees_outside_the_pool_are_refused(void **state)
{
    hpa_t a = page_alloc(&pp, 2, 1);
    u64 before = page_pool_free_count(&pp);

    assert_false(page_free(&pp, a + 1, 1));                   /* not page aligned */
    assert_false(page_free(&pp, pool_pa(0), 1));              /* the bitmap */
    assert_false(page_free(&pp, pool_pa(0), 3));              /* starts in the bitmap */
    assert_false(page_free(&pp, pa_of(pool) - PG, 1));        /* below the region */
    assert_false(page_free(&pp, pool_pa(POOL_PAGES), 1));     /* just past the end */
    assert_false(page_free(&pp, pool_pa(POOL_PAGES - 1), 2)); /* runs off the end */
    assert_false(page_free(&pp, a, UINT64_MAX));              /* length wraps */
    assert_false(page_free(&pp, UINT64_MAX & ~(u64)(PG - 1), 1));
    assert_false(page_free(&pp, 0, 1));
    assert_false(page_free(&pp, a, 0));
    assert_int_equal(page_pool_free_count(&pp), before);
    assert_true(page_free(&pp, a, 2));
}

static void unaligned_region_is_rounded_up(void **state)
{
    struct page_pool p;
    hpa_t a;

    /* starts 100 bytes into page 0: page 1 holds the bitmap, pages 2..63 are handed out */
    page_alloc_init(&p, pool_pa(0) + 100, POOL_PAGES * PG - 100);
    assert_int_equal(page_pool_free_count(&p), POOL_PAGES - 2);
    a = page_alloc(&p, 1, 1);
    assert_int_equal(a, pool_pa(2));
    /* a size that ends mid-page: the partial page is not used */
    page_alloc_init(&p, pool_pa(0), 10 * PG + 123);
    assert_int_equal(page_pool_free_count(&p), 9);
    assert_int_equal(page_alloc(&p, 9, 1), pool_pa(1));
}

static void tiny_pools_hand_out_nothing(void **state)
{
    struct page_pool p;

    page_alloc_init(&p, pa_of(pool), PG); /* room for the bitmap only */
    assert_int_equal(page_pool_free_count(&p), 0);
    assert_int_equal(page_alloc(&p, 1, 1), 0);
    assert_false(page_free(&p, pool_pa(0), 1));
    page_alloc_init(&p, pa_of(pool) + 1, PG); /* less than one whole page */
    assert_int_equal(page_pool_free_count(&p), 0);
    page_alloc_init(&p, pa_of(pool), 2 * PG);
    assert_int_equal(page_pool_free_count(&p), 1);
    assert_int_equal(page_alloc(&p, 1, 1), pool_pa(1));
}

static void bitmap_size_grows_with_the_pool(void **state)
{
    /* One bitmap page covers 32768 pages: 32769 pages need one bitmap page, 32770 need two. */
    struct page_pool p;
    u8 *big = aligned_alloc(PG, (32768 + 2) * (size_t)PG);

    assert_non_null(big);
    page_alloc_init(&p, pa_of(big), (32768 + 1) * (u64)PG);
    assert_int_equal(page_pool_free_count(&p), 32768);
    assert_int_equal(p.base, pa_of(big) + PG);
    page_alloc_init(&p, pa_of(big), (32768 + 2) * (u64)PG);
    assert_int_equal(page_pool_free_count(&p), 32768); /* two bitmap pages now */
    assert_int_equal(p.base, pa_of(big) + 2 * PG);
    assert_int_equal(page_alloc(&p, 32768, 1), pa_of(big) + 2 * PG);
    free(big);
}

static void default_pool(void **state)
{
    page_alloc_init(&hv_pages, pa_of(pool), POOL_PAGES * PG);
    hpa_t a = page_alloc_zeroed(2);
    assert_int_equal(a, pool_pa(1));
    assert_true(all_bytes(a, 2 * PG, 0));
    assert_int_equal(page_pool_free_count(&hv_pages), POOL_PAGES - 3);
    assert_true(page_free(&hv_pages, a, 2));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(bitmap_is_not_handed_out),
        T(pages_are_zero_filled),
        T(alignment),
        T(exhaustion),
        T(fragmentation),
        T(double_free_is_detected),
        T(frees_outside_the_pool_are_refused),
        T(unaligned_region_is_rounded_up),
        T(tiny_pools_hand_out_nothing),
        T(bitmap_size_grows_with_the_pool),
        T(default_pool),
    };
    return cmocka_run_group_tests_name("page_alloc", tests, NULL, NULL);
}
