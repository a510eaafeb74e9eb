/* UNIT-SOURCES: */
/* hv/lib/string.c, compiled into this test under other names so it does not clash with libc's own
 * functions (which the test uses as the reference). The .c is #included rather than linked, so
 * make does not see it as a prerequisite of this test unless the Makefile tracks included files. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#define memmove hv_memmove
#define memcmp  hv_memcmp
#define strlen  hv_strlen
#define strnlen hv_strnlen
#define strcmp  hv_strcmp
#define strncmp hv_strncmp
#include "lib/string.c"
#undef memmove
#undef memcmp
#undef strlen
#undef strnlen
#undef strcmp
#undef strncmp

static int sign(int x) { return (x > 0) - (x < 0); }

static void memmove_every_overlap(void **state)
{
    u8 buf[64], want[64];

    /* every source and destination offset and length in a small window, overlapping or not */
    for (size_t src = 0; src < 20; src++)
        for (size_t dst = 0; dst < 20; dst++)
            for (size_t n = 0; n + (src > dst ? src : dst) <= 40; n++) {
                for (size_t i = 0; i < sizeof(buf); i++)
                    buf[i] = want[i] = (u8)(i * 7 + 1);
                memmove(want + dst, want + src, n);
                assert_ptr_equal(hv_memmove(buf + dst, buf + src, n), buf + dst);
                assert_memory_equal(buf, want, sizeof(buf));
            }
}

static void memcmp_orders_bytes_unsigned(void **state)
{
    const u8 a[] = { 1, 2, 3, 0x80 }, b[] = { 1, 2, 3, 0x7f }, c[] = { 1, 2, 4, 0 };

    assert_int_equal(hv_memcmp(a, a, sizeof(a)), 0);
    assert_int_equal(hv_memcmp(a, b, 3), 0);
    assert_true(hv_memcmp(a, b, 4) > 0); /* 0x80 is above 0x7f: unsigned */
    assert_true(hv_memcmp(b, a, 4) < 0);
    assert_true(hv_memcmp(a, c, 4) < 0);
    assert_int_equal(hv_memcmp(a, c, 0), 0);
    assert_int_equal(hv_memcmp(NULL, NULL, 0), 0); /* never touches memory for n = 0 */
}

static void strlen_and_strnlen(void **state)
{
    const char s[] = "hello";
    const char unterminated[3] = { 'a', 'b', 'c' }; /* ASan would see a read past it */

    assert_int_equal(hv_strlen(""), 0);
    assert_int_equal(hv_strlen(s), 5);
    assert_int_equal(hv_strnlen(s, 0), 0);
    assert_int_equal(hv_strnlen(s, 3), 3);
    assert_int_equal(hv_strnlen(s, 5), 5);
    assert_int_equal(hv_strnlen(s, 100), 5);
    assert_int_equal(hv_strnlen(unterminated, sizeof(unterminated)), 3);
    assert_int_equal(hv_strnlen(NULL, 0), 0);
}

static void strcmp_and_strncmp_agree_with_libc(void **state)
{
    static const char *const s[] = { "", "a", "b", "ab", "abc", "abd", "abc\x80", "abc\x7f", "ABC", "abcdef" };

    for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
        for (size_t j = 0; j < sizeof(s) / sizeof(s[0]); j++) {
            assert_int_equal(sign(hv_strcmp(s[i], s[j])), sign(strcmp(s[i], s[j])));
            for (size_t n = 0; n < 8; n++)
                assert_int_equal(sign(hv_strncmp(s[i], s[j], n)), sign(strncmp(s[i], s[j], n)));
        }
}

static void strncmp_stops_at_n(void **state)
{
    const char a[2] = { 'x', 'y' }, b[2] = { 'x', 'y' }; /* not terminated: must not be read past n */

    assert_int_equal(hv_strncmp(a, b, 2), 0);
    assert_int_equal(hv_strncmp("abcX", "abcY", 3), 0);
    assert_int_equal(hv_strncmp(NULL, NULL, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(memmove_every_overlap), cmocka_unit_test(memcmp_orders_bytes_unsigned),
        cmocka_unit_test(strlen_and_strnlen),    cmocka_unit_test(strcmp_and_strncmp_agree_with_libc),
        cmocka_unit_test(strncmp_stops_at_n),
    };
    return cmocka_run_group_tests_name("string", tests, NULL, NULL);
}
