/* UNIT-SOURCES: hv/lib/fmt.c */
/* The hypervisor's formatter, checked against the host libc's snprintf. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <limits.h>
#include <sys/types.h>
#include <cmocka.h>

#include "lib/log.h"

/* Formats both ways and compares text and return value, then again at every interesting buffer
 * size (0, 1, 2, ... up to just past the full length): the output must be libc's, cut to size-1
 * characters and NUL-terminated, with nothing past the buffer touched. */
#define SAME_AS_LIBC(...)                                                                                              \
    do {                                                                                                               \
        char want[256], got[256 + 8];                                                                                  \
        int wn = snprintf(want, sizeof(want), __VA_ARGS__);                                                            \
        assert_true(wn >= 0 && wn < (int)sizeof(want));                                                                \
        for (size_t sz = 0; sz <= (size_t)wn + 2; sz = sz < 4 ? sz + 1 : sz + 1 + sz / 2) {                            \
            size_t kept = sz && sz - 1 < (size_t)wn ? sz - 1 : (size_t)wn;                                             \
            memset(got, 'Z', sizeof(got));                                                                             \
            assert_int_equal(fmt_snprintf(got, sz, __VA_ARGS__), wn);                                                  \
            if (sz) {                                                                                                  \
                assert_memory_equal(got, want, kept);                                                                  \
                assert_int_equal(got[kept], '\0');                                                                     \
            }                                                                                                          \
            for (size_t i = sz; i < sizeof(got); i++)                                                                  \
                assert_int_equal(got[i], 'Z');                                                                         \
        }                                                                                                              \
        assert_int_equal(fmt_snprintf(got, sizeof(got), __VA_ARGS__), wn);                                             \
        assert_string_equal(got, want);                                                                                \
    } while (0)

static void integers(void **state)
{
    SAME_AS_LIBC("%d %i %u", -42, 7, 3000000000u);
    SAME_AS_LIBC("%d %d %d", 0, INT_MAX, INT_MIN);
    SAME_AS_LIBC("%u %x %X", UINT_MAX, UINT_MAX, 0xabcdefu);
    SAME_AS_LIBC("%ld %lu %lx", LONG_MIN, ULONG_MAX, 0xdeadbeefcafeul);
    SAME_AS_LIBC("%lld %llu %llx %llX", LLONG_MIN, ULLONG_MAX, 0x123456789abcdefull, 0xfedcba9876543210ull);
    SAME_AS_LIBC("%zu %zx %zd", (size_t)99, SIZE_MAX, (ssize_t)-3);
    SAME_AS_LIBC("%hd %hu %hx", (short)-5, (unsigned short)65535, (unsigned short)0xbeef);
    SAME_AS_LIBC("%hhd %hhu %hhx", (signed char)-128, (unsigned char)200, (unsigned char)0x7f);
}

/* h/hh must truncate what was promoted to int, as libc does. Through a pointer: the compiler's
 * format check would (rightly) complain about passing an int wider than the modifier. */
static int (*volatile fmt_unchecked)(char *, size_t, const char *, ...) = fmt_snprintf;

static void short_modifiers_truncate(void **state)
{
    char buf[64];
    fmt_unchecked(buf, sizeof(buf), "%hx %hhx %hd %hhd %hu", 0x12345, 0x1ff, 0x18000, 0x180, 0x10001);
    assert_string_equal(buf, "2345 ff -32768 -128 1");
}

static void width_and_flags(void **state)
{
    SAME_AS_LIBC("[%5d] [%-5d] [%05d] [%5d] [%05d]", 42, 42, -42, 123456, 0);
    SAME_AS_LIBC("[%8x] [%-8X] [%08x] [%016llx] [%1x]", 0xbeefu, 0xbeefu, 0xbeefu, 0xabcull, 0x123u);
    SAME_AS_LIBC("[%*d] [%*d] [%-*d] [%0*u]", 6, 7, -6, 7, 4, 9, 5, 3u);
    SAME_AS_LIBC("[%+d] [%+d] [% d] [% d] [%+05d] [% 5d]", 5, -5, 5, -5, 5, 5);
    SAME_AS_LIBC("[%#x] [%#X] [%#x] [%#010x] [%#-8llx]", 0x1fu, 0x1fu, 0u, 0xabu, 0xabull);
    SAME_AS_LIBC("[%02u:%02u] [%-6s|] [%-10s|]", 7u, 12u, "ab", "exit");
}

static void integer_precision(void **state)
{
    SAME_AS_LIBC("[%.3d] [%.3d] [%.0d] [%.0x] [%5.0u]", 7, -7, 0, 0u, 0u);
    SAME_AS_LIBC("[%-8.3x] [%8.3x] [%#.4x] [%+.2d]", 0xau, 0xau, 0x1u, 3);
    SAME_AS_LIBC("[%.*d] [%.*d]", 4, 12, -1, 12);
}

/* Combinations where one flag overrides another: legal, but gcc warns about them. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
static void overridden_flags(void **state)
{
    SAME_AS_LIBC("[%-05d] [%+ d] [% +d] [%08.3d] [%-08x] [%0-*d]", -42, 5, 5, 5, 0xau, 6, 1);
}
#pragma GCC diagnostic pop

static void strings_and_chars(void **state)
{
    SAME_AS_LIBC("%s|%s|%s", "", "a", "hello world");
    SAME_AS_LIBC("[%8s] [%-8s] [%2s] [%-2s]", "ab", "ab", "abcdef", "abcdef");
    SAME_AS_LIBC("[%.3s] [%.0s] [%.10s] [%.*s] [%.*s]", "abcdef", "abc", "abc", 2, "xyz", -1, "xyz");
    SAME_AS_LIBC("[%6.2s] [%-6.2s] [%*.*s] [%-*.*s]", "abcdef", "abcdef", 5, 1, "qrs", 5, 1, "qrs");
    SAME_AS_LIBC("[%c] [%3c] [%-3c] [%c]", 'q', 'r', 's', 0x41);
    SAME_AS_LIBC("100%% [%%] %d%%", 5);
    SAME_AS_LIBC("no conversions at all");
    SAME_AS_LIBC("%s", "");
}

static void precision_stops_reading_the_string(void **state)
{
    /* Not NUL-terminated: with a precision only that many bytes may be read (ASan would notice). */
    char raw[3] = { 'a', 'b', 'c' };
    char buf[16];
    assert_int_equal(fmt_snprintf(buf, sizeof(buf), "%.3s|", raw), 4);
    assert_string_equal(buf, "abc|");
}

static void null_string_and_pointers(void **state)
{
    char buf[64];
    const char *volatile null_string = NULL;

    assert_int_equal(fmt_unchecked(buf, sizeof(buf), "%s", null_string), 6);
    assert_string_equal(buf, "(null)");
    fmt_unchecked(buf, sizeof(buf), "[%8s]", null_string);
    assert_string_equal(buf, "[  (null)]");
    assert_int_equal(fmt_snprintf(buf, sizeof(buf), "%p", (void *)0x1234), 18);
    assert_string_equal(buf, "0x0000000000001234");
    fmt_snprintf(buf, sizeof(buf), "%p|%p", (void *)0, (void *)UINTPTR_MAX);
    assert_string_equal(buf, "0x0000000000000000|0xffffffffffffffff");
    fmt_snprintf(buf, sizeof(buf), "[%20p] [%-20p]", (void *)0xab, (void *)0xab);
    assert_string_equal(buf, "[  0x00000000000000ab] [0x00000000000000ab  ]");
}

static void unknown_conversions_print_literally(void **state)
{
    char buf[64];

    assert_int_equal(fmt_unchecked(buf, sizeof(buf), "a%qb"), 4);
    assert_string_equal(buf, "a%qb");
    fmt_unchecked(buf, sizeof(buf), "x%-5ky");
    assert_string_equal(buf, "x%-5ky");
    assert_int_equal(fmt_unchecked(buf, sizeof(buf), "end%"), 4);
    assert_string_equal(buf, "end%");
    fmt_unchecked(buf, sizeof(buf), "end%-08");
    assert_string_equal(buf, "end%-08");
    /* the arguments after an unknown conversion still line up */
    fmt_unchecked(buf, sizeof(buf), "%w %d %s", 5, "five");
    assert_string_equal(buf, "%w 5 five");
}

static void truncation(void **state)
{
    char buf[16];

    memset(buf, 'X', sizeof(buf));
    assert_int_equal(fmt_snprintf(buf, 5, "%s", "abcdefgh"), 8);
    assert_string_equal(buf, "abcd");
    assert_int_equal(buf[5], 'X');

    memset(buf, 'X', sizeof(buf));
    assert_int_equal(fmt_snprintf(buf, 0, "%d", 12345), 5);
    assert_int_equal(buf[0], 'X');
    assert_int_equal(fmt_snprintf(NULL, 0, "%s %d", "abc", 42), 6); /* size 0: buf is never touched */

    assert_int_equal(fmt_snprintf(buf, 1, "%d", 1), 1);
    assert_string_equal(buf, "");

    memset(buf, 'X', sizeof(buf));
    assert_int_equal(fmt_snprintf(buf, 6, "%-10d|", -7), 11);
    assert_string_equal(buf, "-7   ");
    assert_int_equal(buf[6], 'X');

    memset(buf, 'X', sizeof(buf));
    assert_int_equal(fmt_snprintf(buf, 4, "%p", (void *)1), 18);
    assert_string_equal(buf, "0x0");
    assert_int_equal(buf[4], 'X');

    /* a width far larger than the buffer: counted in full, written only as far as fits */
    memset(buf, 'X', sizeof(buf));
    assert_int_equal(fmt_snprintf(buf, sizeof(buf), "%5000d", 1), 5000);
    assert_int_equal(strlen(buf), sizeof(buf) - 1);
    assert_int_equal(fmt_snprintf(buf, sizeof(buf), "%*s", 3000, "z"), 3000);
}

static int via_va_list(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = fmt_vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

/* LOG_RATELIMITED's rule: the first N, then every 1024th, counting each pass. */
static void ratelimit_first_then_every_1024th(void **state)
{
    u64 counter = 0, printed = 0;
    for (int i = 0; i < 5000; i++)
        if (log_ratelimit_pass(++counter, 8))
            printed++;
    assert_int_equal(counter, 5000);
    assert_int_equal(printed, 8 + 4); /* 1..8, then 1024, 2048, 3072, 4096 */
    assert_true(log_ratelimit_pass(1, 1));
    assert_false(log_ratelimit_pass(2, 1));
    assert_false(log_ratelimit_pass(1, 0));
    assert_true(log_ratelimit_pass(LOG_EVERY_AFTER, 0));
}

static void vsnprintf_entry_point(void **state)
{
    char buf[32];
    assert_int_equal(via_va_list(buf, sizeof(buf), "%s=%llx", "cr3", 0x1000ull), 8);
    assert_string_equal(buf, "cr3=1000");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(integers),
        cmocka_unit_test(short_modifiers_truncate),
        cmocka_unit_test(width_and_flags),
        cmocka_unit_test(integer_precision),
        cmocka_unit_test(overridden_flags),
        cmocka_unit_test(strings_and_chars),
        cmocka_unit_test(precision_stops_reading_the_string),
        cmocka_unit_test(null_string_and_pointers),
        cmocka_unit_test(unknown_conversions_print_literally),
        cmocka_unit_test(truncation),
        cmocka_unit_test(vsnprintf_entry_point),
        cmocka_unit_test(ratelimit_first_then_every_1024th),
    };
    return cmocka_run_group_tests_name("fmt", tests, NULL, NULL);
}
