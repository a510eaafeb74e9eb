/* UNIT-SOURCES: hv/lib/log_ring.c */
/* The log kept in memory (hv/lib/log_ring.c): what was put comes back in order from any offset,
 * and after more than LOG_RING_SIZE bytes only the last LOG_RING_SIZE are kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "lib/log_ring.h"

static char out[LOG_RING_SIZE + 64];

static void keeps_everything_until_full(void **state)
{
    u64 from = 0;
    (void)state;
    log_ring_put("postern: one\n", 13);
    log_ring_put("postern: two\n", 13);
    assert_int_equal(log_ring_written(), 26);
    assert_int_equal(log_ring_copy(&from, out, sizeof(out)), 26);
    assert_memory_equal(out, "postern: one\npostern: two\n", 26);
    assert_int_equal(from, 26);
    from = 13;
    assert_int_equal(log_ring_copy(&from, out, 5), 5);
    assert_memory_equal(out, "poste", 5);
    assert_int_equal(from, 18);
    assert_int_equal(log_ring_copy(&from, out, 0), 0);
}

static void keeps_the_last_bytes(void **state)
{
    char line[100];
    u64 before = log_ring_written(), from = 0;
    (void)state;
    for (int i = 0; i < 1000; i++) {
        int n = snprintf(line, sizeof(line), "postern: line %04d of the log, padded to some length\n", i);
        log_ring_put(line, (size_t)n);
    }
    assert_true(log_ring_written() - before > LOG_RING_SIZE);
    /* from 0 is clamped to the oldest kept byte */
    assert_int_equal(log_ring_copy(&from, out, sizeof(out)), LOG_RING_SIZE);
    assert_int_equal(from, log_ring_written());
    out[LOG_RING_SIZE] = 0;
    assert_non_null(strstr(out, "postern: line 0999 of the log"));
    assert_null(strstr(out, "postern: line 0001 of the log"));
    assert_memory_equal(out + LOG_RING_SIZE - 6, "ength\n", 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keeps_everything_until_full),
        cmocka_unit_test(keeps_the_last_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
